import KnoxCore
import KnoxEngine

/// The REST face of the engine's typed reads: the query as sent is checked here against the operation's descriptor
/// (after the permission, so a caller without it learns nothing from a bad query), the handler answers typed values,
/// and `Wire` turns them into the documented JSON. The console calls the typed handlers directly.
extension Engine {
    /// `GET /v1/routes`, its query as sent.
    public func listRoutes(_ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("routes:read", actor)
        let (tenantId, mode) = (tenantId, mode)
        return try await routes(Engine.routeQuery.read(query), actor: actor).map {
            Wire.route($0, tenantId: tenantId, mode: mode)
        }
    }

    /// `GET /v1/routes/:id`.
    public func getRoute(_ id: String, actor: Actor) async throws -> JSONValue {
        Wire.route(try await routeView(id, actor: actor), tenantId: tenantId, mode: mode)
    }

    /// `GET /v1/routes/:id/environments`: the base environment first, then each override.
    public func routeEnvironments(_ id: String, actor: Actor) async throws -> JSONValue {
        let view = try await routeView(id, actor: actor)
        return .array(view.baseFirst.map { Wire.routeEnvironment($0, view: view) })
    }

    /// `GET /v1/routes/:id/clients`.
    public func routeClients(_ id: String, actor: Actor) async throws -> JSONValue {
        .array(try await routeAssignments(id, actor: actor).map(Wire.routeClient))
    }

    /// `GET /v1/routes/:id/logs`, its query as sent.
    public func routeLogs(_ id: String, _ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("log:read", actor)
        return try await routeLogs(id, Engine.routeLogQuery.read(query), actor: actor).map(Wire.routeLog)
    }

    /// `GET /v1/secrets`, its query as sent.
    public func listSecrets(_ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("secrets:read", actor)
        return try await secrets(Engine.secretQuery.read(query), actor: actor).map(Wire.secret)
    }

    /// `GET /v1/secrets/:id`.
    public func getSecret(_ id: String, actor: Actor) async throws -> JSONValue {
        Wire.secret(try await secretDetail(id, actor: actor))
    }

    /// `GET /v1/clients`, its query as sent.
    public func listClients(_ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("clients:read", actor)
        let tenantId = tenantId
        return try await clients(Engine.clientQuery.read(query), actor: actor).map {
            Wire.client($0, tenantId: tenantId)
        }
    }

    /// `GET /v1/clients/:id`.
    public func getClient(_ id: String, actor: Actor) async throws -> JSONValue {
        Wire.client(try await clientDetail(id, actor: actor), tenantId: tenantId)
    }

    /// `GET /v1/environments`, its query as sent (it takes none).
    public func listEnvironments(_ query: [String: String], actor: Actor) async throws -> JSONValue {
        try require("environments:read", actor)
        _ = try QueryDescriptor.none.read(query)
        let (tenantId, mode) = (tenantId, mode)
        return .array(try await environments(actor: actor).map { Wire.environment($0, tenantId: tenantId, mode: mode) })
    }

    /// `GET /v1/environments/:id`.
    public func getEnvironment(_ id: String, actor: Actor) async throws -> JSONValue {
        Wire.environment(try await environment(id, actor: actor), tenantId: tenantId, mode: mode)
    }

    /// `GET /v1/api-keys`, its query as sent.
    public func listApiKeys(_ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("api_keys:read", actor)
        return try await apiKeys(Engine.apiKeyQuery.read(query), actor: actor).map(Wire.apiKey)
    }

    /// `GET /v1/api-keys/:id`.
    public func getApiKey(_ id: String, actor: Actor) async throws -> JSONValue {
        Wire.apiKey(try await apiKey(id, actor: actor))
    }

    /// `GET /v1/audit-logs`, its query as sent.
    public func listAuditLogs(_ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("audit_log:list", actor)
        return try await auditEntries(Engine.auditLogQuery.read(query), actor: actor).map(Wire.auditEntry)
    }

    /// `GET /v1/audit-logs/events`, its query as sent.
    public func auditEvents(_ query: [String: String], actor: Actor) async throws -> FeedPage {
        try require("audit_log:list", actor)
        return try await auditEvents(Engine.auditEventQuery.read(query), actor: actor).map(Wire.auditEntry)
    }

    /// `GET /v1/logs`, its query as sent: a row's caller identity only for an actor with `log:read_identity`.
    public func requestLogFeed(_ query: [String: String], actor: Actor) async throws -> FeedPage {
        try require("log:read", actor)
        let (tenantId, mode) = (tenantId, mode)
        let identity = actor.permissions.allows("log:read_identity")
        return try await requestLogFeed(Engine.requestLogQuery.read(query), actor: actor).map {
            Wire.requestLog($0, tenantId: tenantId, mode: mode, includeIdentity: identity)
        }
    }

    /// `GET /v1/logs/:request_id`.
    public func requestLog(_ requestId: String, actor: Actor) async throws -> JSONValue {
        Wire.requestLog(
            try await requestLogEntry(requestId, actor: actor), tenantId: tenantId, mode: mode,
            includeIdentity: actor.permissions.allows("log:read_identity"))
    }

    /// `GET /v1/roles`, its query as sent (any valid key).
    public func listRoles(_ query: [String: String]) throws -> Page<JSONValue> {
        roles(try Engine.roleQuery.read(query)).map(Wire.role)
    }

    /// `GET /v1/account`.
    public func account() async throws -> JSONValue { Wire.account(try await tenant()) }

    /// `GET /v1/account/usage`.
    public func accountUsage() async throws -> JSONValue { Wire.usage(try await usage()) }
}
