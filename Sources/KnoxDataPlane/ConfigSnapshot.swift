import Atomics
import KnoxCore
import KnoxCrypto

/// An immutable, versioned picture of one mode's configuration.
///
/// The data plane and the management API's authentication read only this, never SQLite. It is replaced as a whole
/// (atomically) when the configuration version changes.
public final class ConfigSnapshot: Sendable, AtomicReference {
    /// The database's configuration version this snapshot was built from.
    public let version: Int64
    public let mode: Mode
    public let tenantId: String
    public let routes: [Route]
    public let routesById: [String: RouteEntry]
    public let routesBySlug: [String: RouteEntry]
    public let environments: [String: Environment]
    public let clients: [String: Client]
    /// route id → environment → client ids.
    public let assignments: [String: [String: Set<String>]]
    public let secretsById: [String: Secret]
    public let secretIdsByName: [String: String]
    /// secret id → environment → sealed value.
    public let sealedValues: [String: [String: SealedSecretValue]]
    public let apiKeysByKeyId: [String: ApiKey]
    public let apiKeysById: [String: ApiKey]
    /// OAuth access tokens live when the snapshot was built, by the hex SHA-256 of their text.
    public let tokensByHash: [String: OAuthToken]
    /// Key ids whose permissions include `proxy:invoke`, computed once per snapshot for the data plane.
    public let invokingKeyIds: Set<String>
    /// Route id → environment → what the data plane needs.
    public let plans: [String: [String: RoutePlan]]
    public let routeIdsByName: [String: String]

    public init(
        version: Int64, mode: Mode, tenantId: String, routes: [Route], configs: [RouteEnvironmentConfig],
        environments: [Environment], clients: [Client], assignments: [ClientAssignment], secrets: [Secret],
        values: [SealedSecretValue], apiKeys: [ApiKey], tokens: [OAuthToken] = [],
        limiter: (String, String, RouteSettings) -> RateLimiter? = { _, _, _ in nil }
    ) {
        self.version = version
        self.mode = mode
        self.tenantId = tenantId
        self.routes = routes
        var configsByRoute: [String: [String: RouteEnvironmentConfig]] = [:]
        for c in configs { configsByRoute[c.routeId, default: [:]][c.environmentName] = c }
        var byId: [String: RouteEntry] = [:]
        var bySlug: [String: RouteEntry] = [:]
        for route in routes {
            let entry = RouteEntry(route: route, configs: configsByRoute[route.id] ?? [:])
            byId[route.id] = entry
            bySlug[route.slug] = entry
        }
        routesById = byId
        routesBySlug = bySlug
        self.environments = Dictionary(environments.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.clients = Dictionary(clients.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var assigned: [String: [String: Set<String>]] = [:]
        for a in assignments { assigned[a.routeId, default: [:]][a.environmentName, default: []].insert(a.clientId) }
        self.assignments = assigned
        secretsById = Dictionary(secrets.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        secretIdsByName = Dictionary(secrets.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a })
        var sealed: [String: [String: SealedSecretValue]] = [:]
        for v in values { sealed[v.secretId, default: [:]][v.environmentName] = v }
        sealedValues = sealed
        apiKeysByKeyId = Dictionary(apiKeys.map { ($0.keyId, $0) }, uniquingKeysWith: { a, _ in a })
        apiKeysById = Dictionary(apiKeys.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        tokensByHash = Dictionary(tokens.map { ($0.tokenHash, $0) }, uniquingKeysWith: { a, _ in a })
        invokingKeyIds = Set(apiKeys.filter { $0.permissions.allows(Permission("proxy", "invoke")) }.map(\.keyId))
        routeIdsByName = Dictionary(routes.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a })
        // Enabled clients with their address ranges: each route's plan keeps those assigned to it.
        let ranges: [(client: Client, range: IPRange)] = clients.compactMap { c in
            guard c.enabled, let range = try? IPRange.parse(c.ipAddress).get() else { return nil }
            return (c, range.unmapped)
        }
        var plans: [String: [String: RoutePlan]] = [:]
        let (secretsById, secretIdsByName) = (self.secretsById, self.secretIdsByName)
        for entry in byId.values {
            for environment in entry.configs.keys {
                guard let settings = entry.effectiveSettings(environment),
                    let url = settings.targetBaseURL, let target = try? UpstreamURL.parse(url).get()
                else { continue }
                let assignedIds = assigned[entry.route.id]?[environment] ?? []
                let assignedClients = ranges.filter { assignedIds.contains($0.client.id) }.map {
                    (id: $0.client.id, range: $0.range)
                }
                let rateLimiter =
                    settings.rateLimitEnabled == true ? limiter(entry.route.id, environment, settings) : nil
                // Names as configured (normalized), or ids; a name whose secret is gone allows nothing.
                let callable = Set(
                    (settings.callableSecrets ?? []).compactMap { entry in
                        secretsById[entry] != nil ? entry : secretIdsByName[entry]
                    })
                plans[entry.route.id, default: [:]][environment] = RoutePlan(
                    route: entry.route, environment: environment, settings: settings, target: target,
                    limiter: rateLimiter, assignedClients: assignedClients, callableSecretIds: callable,
                    prepare: { reference, environment in
                        ConfigSnapshot.prepare(
                            reference, environment, tenantId: tenantId, secrets: secretsById, names: secretIdsByName,
                            sealed: sealed)
                    })
            }
        }
        self.plans = plans
    }

    /// The secret `reference` names, prepared for `environment` (its own value, else the base environment's): what the
    /// data plane opens for a placeholder the snapshot did not prepare ahead (the caller's body, a signature). Nil when
    /// there is no such secret or no value.
    public func preparedSecret(_ reference: SecretReference, environment: String) -> PreparedSecret? {
        Self.prepare(
            reference, environment, tenantId: tenantId, secrets: secretsById, names: secretIdsByName,
            sealed: sealedValues)
    }

    /// The sealed value `reference` injects in `environment` (the environment's own, else the base environment's),
    /// with its associated data; nil when there is none (the request path then reports it as before).
    static func prepare(
        _ reference: SecretReference, _ environment: String, tenantId: String, secrets: [String: Secret],
        names: [String: String], sealed: [String: [String: SealedSecretValue]]
    ) -> PreparedSecret? {
        guard let (secret, value) = sealedValue(reference, environment, secrets: secrets, names: names, sealed: sealed)
        else { return nil }
        return PreparedSecret(
            secret: secret, ciphertext: value.ciphertext,
            associatedData: SecretSealer.associatedData(
                tenantId: tenantId, secretId: secret.id, environment: value.environmentName))
    }

    /// Finds the plan for a route named by slug, id or (legacy) name, in `environment` (default: the route's base).
    public func lookup(route key: String, environment: String?) -> RouteLookup {
        guard
            let entry = routesBySlug[key] ?? routesById[key.lowercased()]
                ?? routeIdsByName[key].flatMap({ routesById[$0] })
        else { return .routeNotFound }
        guard entry.route.enabled else { return .routeDisabled }
        let env = environment ?? entry.route.baseEnvironment
        guard let plan = plans[entry.route.id]?[env] else { return .environmentNotConfigured }
        guard plan.environmentEnabled else { return .environmentDisabled }
        return .found(plan)
    }

    /// The sealed value of a secret that applies in `environment`: that environment's own value, else the value of
    /// the secret's base environment. Returns the environment the value was sealed for (part of its associated data).
    public func sealedValue(_ reference: SecretReference, environment: String) -> (
        secret: Secret, value: SealedSecretValue
    )? {
        Self.sealedValue(reference, environment, secrets: secretsById, names: secretIdsByName, sealed: sealedValues)
    }

    /// `sealedValue(_:environment:)` over the given tables (also used while the snapshot is being built).
    private static func sealedValue(
        _ reference: SecretReference, _ environment: String, secrets: [String: Secret], names: [String: String],
        sealed: [String: [String: SealedSecretValue]]
    ) -> (secret: Secret, value: SealedSecretValue)? {
        guard let secret = secret(reference, secrets: secrets, names: names), let values = sealed[secret.id],
            let value = values[environment] ?? values[secret.baseEnvironment]
        else { return nil }
        return (secret, value)
    }

    /// A route by id or slug.
    public func route(_ idOrSlug: String) -> RouteEntry? { routesById[idOrSlug] ?? routesBySlug[idOrSlug] }

    /// A secret by reference.
    public func secret(_ reference: SecretReference) -> Secret? {
        Self.secret(reference, secrets: secretsById, names: secretIdsByName)
    }

    private static func secret(_ reference: SecretReference, secrets: [String: Secret], names: [String: String])
        -> Secret?
    {
        switch reference {
        case .id(let id): secrets[id]
        case .name(let name): names[name].flatMap { secrets[$0] }
        }
    }
}

/// A route with its per-environment settings rows. A class: every data-plane request looks its route up, and a copy
/// of the struct retained each of the route's strings.
public final class RouteEntry: Sendable {
    public let route: Route
    /// environment name → row (the base environment's row included).
    public let configs: [String: RouteEnvironmentConfig]

    public init(route: Route, configs: [String: RouteEnvironmentConfig]) {
        self.route = route
        self.configs = configs
    }

    /// The settings that apply in `environment`: the base row overlaid with that environment's override.
    /// Nil when the environment is not configured for this route.
    public func effectiveSettings(_ environment: String) -> RouteSettings? {
        let base = configs[route.baseEnvironment]?.settings ?? RouteSettings.baseDefaults
        if environment == route.baseEnvironment { return base }
        guard let override = configs[environment] else { return nil }
        return base.overlaid(with: override.settings)
    }
}
