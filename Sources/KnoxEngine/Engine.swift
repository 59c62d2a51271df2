import Atomics
import Foundation
import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import KnoxStore
import Logging

/// One mode's engine: its database, sealer, configuration snapshot and limiters.
///
/// Live and Test are two engines, never a flag: nothing here is shared with the other mode except the master key
/// the caller passes to both.
public final class Engine: Sendable {
    public let mode: Mode
    public let tenantId: String
    public let config: KnoxConfig
    public let clock: any WallClock
    /// The database, behind the `Storage` protocol: only opening (`open`, and its look at the other mode's file)
    /// names the SQLite `Store`.
    let store: any Storage
    let sealer: SecretSealer
    let snapshots: SnapshotHolder
    let keyLimiter: KeyRateLimiter
    let keyUsage: KeyUsageRecorder
    let limiters = RateLimiterRegistry()
    /// DPoP server nonces and the `jti` replay cache.
    public let dpop = DPoPGuard()
    /// Workload issuers' key sets fetched from their URLs.
    let jwksCache = JWKSCache()
    /// Where the data plane hands each finished request; the writer batches rows into this mode's database.
    public let requestLog: RequestLogSink
    let pendingLogRows = PendingLogRows()
    /// The request-log writer's last write failed (it says so once per spell).
    let logWriteFailing = ManagedAtomic<Bool>(false)
    /// The database could not be written: the writer tries again at most once a second (at `logRetryAt`, wall-clock
    /// milliseconds).
    let logBackoff = ManagedAtomic<Bool>(false)
    let logRetryAt = ManagedAtomic<Int64>(0)
    let logger: Logger
    /// Connections this mode's listeners cut off or refused (head, idle and body timeouts, the cap).
    public let connectionStats = ConnectionStats()
    /// The addresses of this process's listeners, both modes': no route may target them.
    public let ownListeners: OwnListeners
    /// `/oauth/authorize` requests that start an authorization, per source address.
    let authorizeLimiter: AddressRateLimiter

    /// The current configuration snapshot.
    public var snapshot: ConfigSnapshot { snapshots.snapshot }

    /// The database file.
    public var databasePath: String { store.path }

    /// The OAuth issuer and the base of the authorization server's URLs: `[management] live_public_url` /
    /// `test_public_url`, else the management listener's own address over http. Never the `Host` a client sent,
    /// which anyone can set.
    public var issuer: String {
        if let url = config.publicURL[mode] { return url }
        let address = ownListeners.apiAddress(mode, config: config)
        return "http://"
            + ListenAddress(host: address.isWildcard ? "127.0.0.1" : address.host, port: address.port).description
    }

    /// Opens `mode`'s database in `directory`, creating and seeding it on first start.
    ///
    /// Fails when the master key is not the one this database was sealed with, or when the file belongs to the
    /// other mode.
    public static func open(
        mode: Mode, directory: DataDirectory, masterKey: MasterKey, config: KnoxConfig,
        clock: any WallClock = SystemClock(), logger: Logger = Logger(label: "knoxcall.engine"),
        listeners: OwnListeners? = nil
    ) throws(EngineError) -> Engine {
        let sealer = SecretSealer(masterKey: masterKey)
        let store: Store
        do {
            store = try Store(path: directory.databasePath(mode))
        } catch {
            throw EngineError(message: error.description)
        }
        let tenantId = try bootstrap(store: store, mode: mode, directory: directory, sealer: sealer, clock: clock)
        let engine = Engine(
            mode: mode, tenantId: tenantId, config: config, clock: clock, store: store, sealer: sealer, logger: logger,
            listeners: listeners ?? OwnListeners(config: config))
        try engine.reloadSnapshotSync()
        return engine
    }

    private init(
        mode: Mode, tenantId: String, config: KnoxConfig, clock: any WallClock, store: any Storage,
        sealer: SecretSealer, logger: Logger, listeners: OwnListeners
    ) {
        ownListeners = listeners
        authorizeLimiter = AddressRateLimiter(perMinute: config.authorizeRequestsPerMinute)
        self.mode = mode
        self.tenantId = tenantId
        self.config = config
        self.clock = clock
        self.store = store
        self.sealer = sealer
        self.logger = logger
        snapshots = SnapshotHolder(
            ConfigSnapshot(
                version: 0, mode: mode, tenantId: tenantId, routes: [], configs: [], environments: [], clients: [],
                assignments: [], secrets: [], values: [], apiKeys: []))
        keyLimiter = KeyRateLimiter(defaultLimit: config.managementRateLimit)
        keyUsage = KeyUsageRecorder()
        requestLog = RequestLogSink()
    }

    /// First start: tenant id, master-key check and the `production` environment. Later starts: checks that the
    /// master key and the mode match.
    private static func bootstrap(
        store: any Storage, mode: Mode, directory: DataDirectory, sealer: SecretSealer, clock: any WallClock
    ) throws(EngineError) -> String {
        // A new database takes the tenant id of its sibling, so Live and Test describe the same account.
        let siblingTenant = siblingTenantId(directory: directory, mode: mode)
        do {
            return try store.writeSync { access in
                if let tenant = try access.meta("tenant_id") {
                    guard let checkText = try access.meta("key_check"), let check = Data(base64Encoded: checkText),
                        sealer.verifyKeyCheck(Array(check), tenantId: tenant)
                    else {
                        throw EngineError(
                            message: "the master key does not match \(store.path); "
                                + "start with the KNOXCALL_MASTER_KEY or master.key this data directory was created with"
                        )
                    }
                    if let stored = try access.meta("mode"), stored != mode.rawValue {
                        throw EngineError(
                            message: "\(store.path) holds \(stored) data but was opened as \(mode.rawValue); "
                                + "live.sqlite and test.sqlite must not be swapped")
                    }
                    return tenant
                }
                let tenant = siblingTenant ?? Identifier.uuid()
                let now = clock.nowMillis()
                try access.setMeta("tenant_id", tenant)
                try access.setMeta("mode", mode.rawValue)
                try access.setMeta("created_at", String(now))
                try access.setMeta("key_check", Data(sealer.makeKeyCheck(tenantId: tenant)).base64EncodedString())
                if try access.environment(Environment.production) == nil {
                    try access.insert(
                        Environment(
                            id: Identifier.uuid(), name: Environment.production, displayName: "Production",
                            description: "The base environment every tenant starts with.", isDefault: true,
                            createdAt: now, updatedAt: now))
                }
                try access.bumpConfigVersion()
                return tenant
            }
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError(message: "cannot initialise \(store.path): \(error)")
        }
    }

    private static func siblingTenantId(directory: DataDirectory, mode: Mode) -> String? {
        let path = directory.databasePath(mode.other)
        guard FileManager.default.fileExists(atPath: path), let sibling = try? Store(path: path) else { return nil }
        return try? sibling.readSync { try $0.meta("tenant_id") }
    }

    /// When the account was created (first start of this database).
    public func createdAt() async throws -> Int64 {
        try await store.read { try $0.meta("created_at").flatMap { Int64($0) } ?? 0 }
    }

    // MARK: - Snapshot

    /// Rebuilds the snapshot from the database and installs it if it is newer.
    public func reloadSnapshot() async throws {
        let mode = mode
        let tenantId = tenantId
        let limiters = limiters
        let now = clock.nowMillis()
        let candidate = try await store.read { access in
            try Engine.buildSnapshot(access, mode: mode, tenantId: tenantId, limiters: limiters, nowMillis: now)
        }
        snapshots.offer(candidate)
    }

    func reloadSnapshotSync() throws(EngineError) {
        do {
            let now = clock.nowMillis()
            let candidate = try store.readSync {
                try Engine.buildSnapshot($0, mode: mode, tenantId: tenantId, limiters: limiters, nowMillis: now)
            }
            snapshots.offer(candidate)
        } catch {
            throw EngineError(message: "cannot read configuration from \(store.path): \(error)")
        }
    }

    /// Reloads when another process changed the configuration; returns whether it did.
    @discardableResult
    public func reloadIfChanged() async throws -> Bool {
        let version = try store.configVersion()
        guard version > snapshot.version else { return false }
        try await reloadSnapshot()
        return true
    }

    static func buildSnapshot(
        _ access: any StoreTransaction, mode: Mode, tenantId: String, limiters: RateLimiterRegistry, nowMillis: Int64
    ) throws
        -> ConfigSnapshot
    {
        ConfigSnapshot(
            version: try access.configVersion(), mode: mode, tenantId: tenantId, routes: try access.allRoutes(),
            configs: try access.allRouteConfigs(), environments: try access.environments(),
            clients: try access.allClients(), assignments: try access.allAssignments(),
            secrets: try access.allSecrets(),
            values: try access.allSecretValues(), apiKeys: try access.allApiKeys(),
            tokens: try access.liveAccessTokens(at: nowMillis)
        ) { routeId, environment, settings in
            guard let requests = settings.rateLimitRequests, let window = settings.rateLimitWindowSec else {
                return nil
            }
            return limiters.limiter(
                routeId: routeId, environment: environment, requests: requests, windowSec: window,
                burst: settings.rateLimitBurst)
        }
    }

    /// The data plane's one secret opener (`DataPlanePort.openSecret(_:into:)`): a value the snapshot prepared, opened
    /// straight into `out` (`prepared.valueLength` bytes), no string made. False, with `out` zeroed, when the ciphertext
    /// does not open or its value is not UTF-8.
    public func openSecret(_ prepared: PreparedSecret, into out: UnsafeMutableRawBufferPointer) -> Bool {
        do {
            try sealer.open(prepared.ciphertext, associatedData: prepared.associatedData, into: out)
            return true
        } catch {
            return false
        }
    }
}

extension Engine: DataPlanePort {
    public func verifyTokenBinding(
        token: OAuthToken, tokenText: String, scheme: String, proofHeader: String?, method: String, url: String,
        nowMillis: Int64
    ) throws(ApiError) {
        do {
            try checkTokenBinding(
                token: token, tokenText: tokenText, scheme: scheme, proofHeader: proofHeader, method: method, url: url,
                nowMillis: nowMillis)
        } catch {
            throw error.apiError
        }
    }

    public func dpopNonce(nowMillis: Int64) -> String { dpop.currentNonce(nowMillis: nowMillis) }
}

/// Why an engine could not start, worded for an operator.
public struct EngineError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
