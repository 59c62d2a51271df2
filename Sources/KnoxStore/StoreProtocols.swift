import KnoxCore

// The seam between the engine and the database: what a transaction offers, per aggregate, and the store that hands
// transactions out. Nothing above this module knows which database runs behind them (SQLite today).

/// Routes, their per-environment configurations, and the secret references those configurations hold.
public protocol RouteStore {
    func routes(_ request: PageRequest, enabled: Bool?) throws -> Page<Route>
    func allRoutes() throws -> [Route]
    func route(id: String) throws -> Route?
    /// By id or slug.
    func route(idOrSlug: String) throws -> Route?
    func routeNameTaken(_ name: String, excluding id: String?) throws -> Bool
    func slugTaken(_ slug: String) throws -> Bool
    func insert(_ route: Route) throws
    func update(_ route: Route) throws
    func deleteRoute(id: String) throws
    func routeConfigs(routeId: String) throws -> [RouteEnvironmentConfig]
    func allRouteConfigs() throws -> [RouteEnvironmentConfig]
    /// Inserts or replaces the row for (route, environment).
    func save(_ config: RouteEnvironmentConfig) throws
    func deleteRouteConfig(routeId: String, environment: String) throws -> Bool
    /// Replaces the secret references recorded for one environment of a route.
    func replaceSecretRefs(
        routeId: String, environment: String, refs: [(field: String, secretId: String, byName: Bool)]
    ) throws
    /// Every place a route refers to `secretId`.
    func secretUses(secretId: String) throws -> [SecretUse]
}

extension RouteStore {
    /// Every route, enabled or not.
    public func routes(_ request: PageRequest) throws -> Page<Route> { try routes(request, enabled: nil) }

    /// Whether any route has this name.
    public func routeNameTaken(_ name: String) throws -> Bool { try routeNameTaken(name, excluding: nil) }
}

/// Secrets and their sealed values, one per environment.
public protocol SecretStore {
    func secrets(_ request: PageRequest) throws -> Page<Secret>
    func allSecrets() throws -> [Secret]
    func secret(id: String) throws -> Secret?
    func secret(name: String) throws -> Secret?
    func insert(_ secret: Secret) throws
    func update(_ secret: Secret) throws
    func deleteSecret(id: String) throws
    func secretValues(secretId: String) throws -> [SealedSecretValue]
    func allSecretValues() throws -> [SealedSecretValue]
    /// Number of environments holding a value, per secret id.
    func secretValueCounts() throws -> [String: Int]
    /// Inserts or replaces one environment's value.
    func save(_ value: SealedSecretValue) throws
}

/// Clients and their assignments to routes.
public protocol ClientStore {
    func clients(_ request: PageRequest, type: Client.Kind?) throws -> Page<Client>
    func allClients() throws -> [Client]
    func client(id: String) throws -> Client?
    func insert(_ client: Client) throws
    func update(_ client: Client) throws
    func deleteClient(id: String) throws
    func allAssignments() throws -> [ClientAssignment]
    /// Assignments of one route or of one client, with names.
    func assignmentDetails(routeId: String?, clientId: String?) throws -> [AssignmentDetail]
    func assignmentExists(_ a: ClientAssignment) throws -> Bool
    func insert(_ assignment: ClientAssignment) throws
    func deleteAssignment(routeId: String, clientId: String, environment: String) throws -> Bool
}

extension ClientStore {
    /// Clients of every type.
    public func clients(_ request: PageRequest) throws -> Page<Client> { try clients(request, type: nil) }

    /// Every assignment, with names.
    public func assignmentDetails() throws -> [AssignmentDetail] {
        try assignmentDetails(routeId: nil, clientId: nil)
    }

    /// The assignments of one route, with names.
    public func assignmentDetails(routeId: String?) throws -> [AssignmentDetail] {
        try assignmentDetails(routeId: routeId, clientId: nil)
    }

    /// The assignments of one client, with names.
    public func assignmentDetails(clientId: String?) throws -> [AssignmentDetail] {
        try assignmentDetails(routeId: nil, clientId: clientId)
    }
}

/// Environments, the default one among them, and what still uses each.
public protocol EnvironmentStore {
    func environments() throws -> [Environment]
    /// By id or by name.
    func environment(_ idOrName: String) throws -> Environment?
    func insert(_ environment: Environment) throws
    func update(_ environment: Environment) throws
    /// Makes `name` the only default environment.
    func setDefaultEnvironment(_ name: String) throws
    func deleteEnvironment(id: String) throws
    /// What still uses an environment, as short phrases for an `in_use` message.
    func environmentUsage(_ name: String) throws -> [String]
}

/// API keys, their revocation and their last use.
public protocol ApiKeyStore {
    func apiKeys(_ request: PageRequest) throws -> Page<ApiKey>
    func allApiKeys() throws -> [ApiKey]
    func apiKey(id: String) throws -> ApiKey?
    /// By row id or by the key's public id (`key_id`).
    func apiKey(idOrKeyId: String) throws -> ApiKey?
    func insert(_ key: ApiKey) throws
    func revokeApiKey(id: String, at millis: Int64) throws
    /// Records when keys were last used (batched by the caller; not a configuration change).
    func touchApiKeys(_ lastUsed: [String: Int64]) throws
}

/// The audit log: appended to by every mutation, read as pages and as a keyset feed.
public protocol AuditStore {
    func insert(_ entry: AuditEntry) throws
    func auditEntries(_ request: PageRequest, filter: AuditFilter) throws -> Page<AuditEntry>
    /// Keyset feed: entries with `seq` above `after`, oldest first.
    func auditFeed(after: Int64, limit: Int, filter: AuditFilter) throws -> [AuditEntry]
    func allAuditEntries() throws -> [AuditEntry]
}

/// The request log the data plane writes: pages per route, a keyset feed, lookups, counts and retention.
public protocol RequestLogStore {
    /// One route's log rows, newest first by default.
    func requestLogs(routeId: String, _ request: PageRequest) throws -> Page<RequestLogEntry>
    /// Keyset feed: rows with `seq` above `after`, oldest first.
    func requestLogFeed(after: Int64, limit: Int, filter: RequestLogFilter) throws -> [RequestLogEntry]
    /// The row of `requestId` (the latest, should an id repeat).
    func requestLog(requestId: String) throws -> RequestLogEntry?
    /// Number of log rows since `from` (epoch ms).
    func requestLogCount(since from: Int64) throws -> Int
    /// The highest row id written so far (ids are never reused, even after every row is trimmed).
    func lastRequestLogSeq() throws -> Int64
    /// Deletes rows older than `cutoff` (epoch ms); returns how many.
    func deleteRequestLogs(before cutoff: Int64) throws -> Int
    /// Rows after `seq`, oldest first (for tailing the table when another process writes it).
    func requestLogsAfter(_ seq: Int64, limit: Int) throws -> [RequestLogEntry]
    /// Appends rows, numbered after the last row written.
    func insert(_ entries: [RequestLogEntry]) throws
    /// `insert(_:)` for rows as the data plane hands them over. Returns the records stored, in order; `stored` sees
    /// each stored row's fields as they are encoded.
    @discardableResult
    func insert(records: [LogRecord], stored: (UnsafePointer<LogRecordField>) -> Void) throws -> [LogRecord]
}

extension RequestLogStore {
    /// `insert(records:stored:)` without looking at the stored rows' fields.
    @discardableResult
    public func insert(records: [LogRecord]) throws -> [LogRecord] {
        try insert(records: records, stored: { _ in })
    }
}

/// OAuth: tokens, authorization requests and codes, and used workload assertions.
public protocol OAuthStore {
    func insert(_ token: OAuthToken) throws
    func oauthToken(hash: String) throws -> OAuthToken?
    /// Access tokens that are neither revoked nor expired at `nowMillis` (the snapshot holds these).
    func liveAccessTokens(at nowMillis: Int64) throws -> [OAuthToken]
    /// Marks a refresh token spent; false when it already was (a concurrent redemption lost the race).
    func spendRefreshToken(id: String, at millis: Int64) throws -> Bool
    func revokeOAuthToken(id: String, at millis: Int64) throws
    /// Revokes every token of a family; returns how many were still live.
    @discardableResult
    func revokeOAuthFamily(_ familyId: String, at millis: Int64) throws -> Int
    /// Revokes every token minted for a key (when the key is revoked).
    func revokeOAuthTokens(apiKeyId: String, at millis: Int64) throws
    /// Deletes tokens that expired before `millis` (housekeeping).
    func deleteOAuthTokens(expiredBefore millis: Int64) throws
    func insert(_ authorization: OAuthAuthorization) throws
    func update(_ authorization: OAuthAuthorization) throws
    func oauthAuthorization(id: String) throws -> OAuthAuthorization?
    func oauthAuthorization(codeHash: String) throws -> OAuthAuthorization?
    /// Requests waiting for a decision, oldest first.
    func pendingOAuthAuthorizations(at nowMillis: Int64) throws -> [OAuthAuthorization]
    /// Deletes requests that ended or expired a day ago (housekeeping).
    func deleteOAuthAuthorizations(expiredBefore millis: Int64) throws
    /// Deletes requests that expired while nobody decided them (nothing refers to them).
    func deleteUndecidedOAuthAuthorizations(expiredBefore millis: Int64) throws
    /// Requests waiting for a decision: `(all, this client's)`.
    func pendingOAuthAuthorizationCounts(apiKeyId: String, at nowMillis: Int64) throws -> (all: Int, client: Int)
    /// Records a workload assertion as used; false when it already was (a replay).
    func useAssertion(hash: String, expiresAt: Int64, now: Int64) throws -> Bool
}

/// Stored responses to mutations, replayed when the same idempotency key comes again.
public protocol IdempotencyStore {
    /// The stored response for (actor, key) made at or after `since`.
    func storedResponse(actor: String, key: String, since: Int64) throws -> StoredResponse?
    /// Stores a response, dropping entries older than `expireBefore` on the way.
    func storeResponse(actor: String, key: String, _ stored: StoredResponse, expireBefore: Int64) throws
}

/// The database's own facts: `meta` values, the configuration version and row counts.
public protocol MetaStore {
    /// Reads a value of the `meta` table.
    func meta(_ key: String) throws -> String?
    /// Writes a value of the `meta` table.
    func setMeta(_ key: String, _ value: String) throws
    /// The configuration version.
    func configVersion() throws -> Int64
    /// Bumps the configuration version; every configuration change calls this in its transaction.
    @discardableResult
    func bumpConfigVersion() throws -> Int64
    /// Counts the rows of a table that `StoreTable` names.
    func count(_ table: StoreTable) throws -> Int
    /// One text value from a read-only statement (for diagnostics and tests, e.g. `PRAGMA journal_mode`).
    func scalar(_ sql: String) throws -> String?
}

/// Everything one transaction offers: what a read or a write of a `Storage` hands its body.
public protocol StoreTransaction:
    RouteStore, SecretStore, ClientStore, EnvironmentStore, ApiKeyStore, AuditStore, RequestLogStore, OAuthStore,
    IdempotencyStore, MetaStore
{}

/// A mode's database: runs bodies in read and write transactions. `Store` is the SQLite one.
public protocol Storage: AnyObject, Sendable {
    /// Where the database lives (a file path for SQLite), for messages to the operator.
    var path: String { get }
    /// Runs `body` in a write transaction; it commits when `body` returns and rolls back when it throws.
    func write<T: Sendable>(_ body: @Sendable @escaping (any StoreTransaction) throws -> T) async throws -> T
    /// Runs `body` in a read transaction (a consistent snapshot of the database).
    func read<T: Sendable>(_ body: @Sendable @escaping (any StoreTransaction) throws -> T) async throws -> T
    /// Synchronous write, for start-up and the command line.
    func writeSync<T>(_ body: (any StoreTransaction) throws -> T) throws -> T
    /// Synchronous read, for start-up and the command line.
    func readSync<T>(_ body: (any StoreTransaction) throws -> T) throws -> T
    /// The configuration version, bumped by every configuration change in any process.
    func configVersion() throws -> Int64
}

extension StoreAccess: StoreTransaction {}
