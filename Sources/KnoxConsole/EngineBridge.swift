import KnoxCore
import KnoxEngine

/// Turns the console's effects into calls on the engines' handlers (the same ones the REST API uses, so the console
/// never writes SQL and never re-implements validation) and their results into events. Holds no terminal, so tests
/// drive it with a real engine.
public struct EngineBridge: Sendable {
    public let engines: [Mode: Engine]

    public init(engines: [Mode: Engine]) { self.engines = engines }

    /// The rows of a list pane (nil for the log pane, which is fed by the log stream).
    public func load(_ mode: Mode, _ pane: Pane) async -> ConsoleEvent? {
        guard let engine = engines[mode], pane != .logs else { return nil }
        do {
            return .loaded(mode, pane, .success(try await Self.rows(engine, pane)))
        } catch {
            return .loaded(mode, pane, .failure(Self.failure(error)))
        }
    }

    /// Up to 1,000 rows of a pane (10 pages of 100; the audit pane shows the newest 100), typed as the handlers
    /// answer them, each with its wire form.
    static func rows(_ engine: Engine, _ pane: Pane) async throws -> [PaneRow] {
        let (tenantId, mode) = (engine.tenantId, engine.mode)
        if pane == .environments {
            return try await engine.environments(actor: .console).map {
                PaneRow(.environment($0), wire: Wire.environment($0, tenantId: tenantId, mode: mode))
            }
        }
        var rows: [PaneRow] = []
        for page in 1...10 {
            func query(_ descriptor: QueryDescriptor) -> QueryRequest {
                var q = descriptor.defaults
                (q.page.page, q.page.perPage) = (page, 100)
                return q
            }
            let result: KnoxCore.Page<PaneRow>
            switch pane {
            case .routes:
                result = try await engine.routes(query(Engine.routeQuery), actor: .console).map {
                    PaneRow(.route($0), wire: Wire.route($0, tenantId: tenantId, mode: mode))
                }
            case .secrets:
                result = try await engine.secrets(query(Engine.secretQuery), actor: .console).map {
                    PaneRow(.secret($0), wire: Wire.secret($0))
                }
            case .clients:
                result = try await engine.clients(query(Engine.clientQuery), actor: .console).map {
                    PaneRow(.client($0), wire: Wire.client($0, tenantId: tenantId))
                }
            case .apiKeys:
                result = try await engine.apiKeys(query(Engine.apiKeyQuery), actor: .console).map {
                    PaneRow(.apiKey($0), wire: Wire.apiKey($0))
                }
            case .audit:
                result = try await engine.auditEntries(query(Engine.auditLogQuery), actor: .console).map {
                    PaneRow(.audit($0), wire: Wire.auditEntry($0))
                }
            case .environments, .logs: return rows
            }
            rows += result.items
            if page >= result.totalPages || pane == .audit { break }
        }
        if pane == .apiKeys { rows = try await pendingAuthorizationRows(engine) + rows }
        return rows
    }

    /// OAuth authorization requests waiting for the operator, as rows of the API keys pane (first, marked pending).
    static func pendingAuthorizationRows(_ engine: Engine) async throws -> [PaneRow] {
        try await engine.pendingAuthorizations().map { pending in
            let r = pending.request
            return PaneRow(
                .authorization(pending),
                wire: [
                    "id": .string(r.id), "pending_authorization": true,
                    "name": .string("\(pending.clientName) (authorization)"),
                    "key_prefix": .string(pending.keyPrefix), "key_type": "oauth request", "active": true,
                    "scope": .string(r.scope.joined(separator: " ")), "redirect_uri": .string(r.redirectUri),
                    "expires_at": .string(Timestamp.format(millis: r.expiresAt)),
                    "created_at": .string(Timestamp.format(millis: r.createdAt)),
                ])
        }
    }

    /// The full resource behind a detail page (a route with its environments and assigned clients).
    public func loadDetail(_ mode: Mode, _ pane: Pane, id: String) async -> ConsoleEvent? {
        guard let engine = engines[mode] else { return nil }
        let tenantId = engine.tenantId
        let row: PaneRow?
        switch pane {
        case .routes:
            if let view = try? await engine.routeView(id, actor: .console) {
                var route = Wire.route(view, tenantId: tenantId, mode: mode).objectValue ?? JSONObject()
                route["environments"] = .array(view.baseFirst.map { Wire.routeEnvironment($0, view: view) })
                route["clients"] = (try? await engine.routeAssignments(id, actor: .console)).map {
                    .array($0.map(Wire.routeClient))
                }
                row = PaneRow(.route(view), wire: .object(route))
            } else {
                row = nil
            }
        case .secrets:
            row = (try? await engine.secretDetail(id, actor: .console)).map { detail in
                PaneRow(
                    .secret(SecretSummary(secret: detail.secret, environmentCount: detail.versions.count)),
                    wire: Wire.secret(detail))
            }
        case .clients:
            row = (try? await engine.clientDetail(id, actor: .console)).map {
                PaneRow(.client($0.client), wire: Wire.client($0, tenantId: tenantId))
            }
        default: row = nil
        }
        return row.map { .detailLoaded(mode, pane, id: id, $0) }
    }

    /// Makes one change through the engine's handlers (one transaction with its audit row, actor `console`).
    public func mutate(_ mode: Mode, _ mutation: ConsoleEffect.Mutation) async -> ConsoleEvent {
        guard let engine = engines[mode] else {
            return .mutated(
                mode, mutation,
                .failure(ConsoleFailure(type: "internal_error", message: "No \(mode.rawValue) engine", field: nil)))
        }
        do {
            return .mutated(mode, mutation, .success(try await Self.change(engine, mutation)))
        } catch {
            return .mutated(mode, mutation, .failure(Self.failure(error)))
        }
    }

    /// Checks the form's body into the handler's typed input (as the REST face does with a request's), calls the
    /// handler, and reads what it made from its typed answer.
    static func change(_ engine: Engine, _ mutation: ConsoleEffect.Mutation) async throws -> ChangeOutcome {
        let ctx = RequestContext(actor: .console)
        switch mutation {
        case .create(let pane, let fields):
            let body = JSONValue.object(fields)
            switch pane {
            case .routes: return try made(await engine.createRoute(.create(body), ctx)) { .saved(name: $0.route.name) }
            case .secrets:
                return try made(await engine.createSecret(.create(body), ctx)) { .saved(name: $0.secret.name) }
            case .clients: return try made(await engine.createClient(.create(body), ctx)) { .saved(name: $0.name) }
            case .environments:
                return try made(await engine.createEnvironment(.create(body), ctx)) { .saved(name: $0.name) }
            case .apiKeys:
                return try made(await engine.createApiKey(.create(body), ctx)) {
                    .newKey(name: $0.key.name, key: $0.text)
                }
            case .logs, .audit: throw ApiError(.validationError, "Nothing to create here")
            }
        case .update(let pane, let id, let fields):
            let body = JSONValue.object(fields)
            switch pane {
            case .routes:
                return try made(await engine.updateRoute(id, .update(body), ctx)) { .saved(name: $0.route.name) }
            case .clients: return try made(await engine.updateClient(id, .update(body), ctx)) { .saved(name: $0.name) }
            case .environments:
                return try made(await engine.updateEnvironment(id, .update(body), ctx)) { .saved(name: $0.name) }
            case .secrets:
                return try made(await engine.updateSecret(id, .update(body), ctx)) { .saved(name: $0.secret.name) }
            default: throw ApiError(.validationError, "Nothing to change here")
            }
        case .delete(let pane, let id):
            let removal: MutationResult<Removal>
            switch pane {
            case .routes: removal = try await engine.deleteRoute(id, ctx)
            case .secrets: removal = try await engine.deleteSecret(id, ctx)
            case .clients: removal = try await engine.deleteClient(id, ctx)
            case .environments: removal = try await engine.deleteEnvironment(id, ctx)
            case .apiKeys: removal = try await engine.revokeApiKey(id, ctx)
            default: throw ApiError(.validationError, "Nothing to delete here")
            }
            return try made(removal) { _ in .removed }
        case .setSecretValue(let id, let fields):
            return try made(await engine.setSecretValue(id, SecretValueInput(.object(fields)), ctx)) {
                .valueStored(secret: $0.secretName, version: $0.valueVersion)
            }
        case .putRouteEnvironment(let routeId, let environment, let fields):
            return try made(await engine.putRouteEnvironment(routeId, environment, .environment(.object(fields)), ctx))
            {
                .overrideSaved(environment: $0.config.environmentName)
            }
        case .assignClient(let routeId, let clientId, let fields):
            return try made(await engine.assignClient(routeId, clientId, AssignmentInput(.object(fields)), ctx)) {
                .assigned(client: $0?.client.name)
            }
        case .decideAuthorization(let id, let approve):
            return try made(await engine.decideAuthorization(id, approve: approve, ctx)) { _ in .decided }
        }
    }

    /// The outcome of a handler's typed answer (the console sends no idempotency key, so it is never a replay).
    static func made<Value>(_ result: MutationResult<Value>, _ outcome: (Value) -> ChangeOutcome) throws
        -> ChangeOutcome
    {
        guard let value = result.value else { throw ApiError(.internalError, "The change answered nothing to show") }
        return outcome(value)
    }

    /// What the forms offer (environments, secrets, clients) and the route names, from the current snapshot.
    public func context(_ mode: Mode) -> ConsoleEvent? {
        guard let engine = engines[mode] else { return nil }
        let snapshot = engine.snapshot
        var context = FormContext()
        let environments = snapshot.environments.values.sorted {
            ($0.isDefault ? 0 : 1, $0.name) < ($1.isDefault ? 0 : 1, $1.name)
        }
        context.environments = environments.map(\.name)
        context.secrets = snapshot.secretsById.values.sorted { $0.name < $1.name }.map { ($0.name, $0.id) }
        context.clients = snapshot.clients.values.sorted { $0.name < $1.name }.map { ($0.name, $0.id) }
        let names = Dictionary(snapshot.routes.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return .context(mode, context, routeNames: names)
    }

    static func failure(_ error: Error) -> ConsoleFailure {
        if let api = error as? ApiError {
            return ConsoleFailure(type: api.type.rawValue, message: api.message, field: api.field)
        }
        return ConsoleFailure(
            type: "internal_error", message: "The engine could not do that: \(type(of: error))", field: nil)
    }
}
