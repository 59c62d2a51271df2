import Foundation
import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import KnoxStore
import Logging

/// Who is asking, from where, and how to recognise a retry.
public struct RequestContext: Sendable {
    public var actor: Actor
    public var ipAddress: String?
    public var requestId: String
    /// `X-Idempotency-Key`, when the caller sent one.
    public var idempotencyKey: String?
    /// A hash of method, path and body: a repeated key must come with the same request.
    public var fingerprint: String?

    public init(
        actor: Actor, ipAddress: String? = nil, requestId: String = Identifier.requestID(),
        idempotencyKey: String? = nil, fingerprint: String? = nil
    ) {
        self.actor = actor
        self.ipAddress = ipAddress
        self.requestId = requestId
        self.idempotencyKey = idempotencyKey
        self.fingerprint = fingerprint
    }
}

/// The answer to a mutation as the wire shows it: its status and the `data` member of the response, kept in the
/// idempotency store for a replay.
public struct MutationAnswer: Sendable {
    public let status: Int
    public let data: JSONValue
    /// The request id of the response: the original one when replayed.
    public let requestId: String
    /// True when this is a stored response to an earlier request with the same idempotency key.
    public let replayed: Bool
}

/// What a mutation handler answers: the typed value it made (nil when the answer is a replay, which only the wire form
/// of has been kept) and the wire answer.
public struct MutationResult<Value: Sendable>: Sendable {
    public let answer: MutationAnswer
    /// What the change made or found (the route, the client, the new key…); nil for a replay.
    public let value: Value?

    public var status: Int { answer.status }
    public var data: JSONValue { answer.data }
    public var requestId: String { answer.requestId }
    public var replayed: Bool { answer.replayed }
}

/// What a delete (or a revocation) answers.
public enum Removal: Sendable, Equatable {
    case deleted
    case revoked

    var wire: JSONValue { self == .deleted ? ["deleted": true] : ["revoked": true] }
}

/// What a handler sees inside a write transaction.
struct Mutation {
    let access: any StoreTransaction
    let context: RequestContext
    let now: Int64
    let mode: Mode
    let tenantId: String
    let sealer: SecretSealer
    let limits: PlanLimits
    /// This process's listeners, which no route may target.
    let ownListeners: OwnListeners
    var audits = 0

    /// Appends an audit row; `details.sandbox` is added here, so no handler can forget it.
    mutating func audit(
        _ action: String, _ resourceType: String, _ resourceId: String?, _ details: JSONObject = JSONObject()
    )
        throws
    {
        var d = details
        d["sandbox"] = .bool(mode.isSandbox)
        try access.insert(
            AuditEntry(
                id: Identifier.uuid(), action: action, resourceType: resourceType, resourceId: resourceId, details: d,
                ipAddress: context.ipAddress, actor: context.actor.auditLabel, apiKeyId: context.actor.apiKeyId,
                createdAt: now))
        audits += 1
    }

    /// Refuses with `plan_limit` when adding one more row to `table` would pass its quota.
    func checkLimit(_ table: StoreTable, _ limit: Int?, _ noun: String) throws {
        guard let limit else { return }
        if try access.count(table) >= limit {
            throw ApiError(.planLimit, "The \(noun) limit of your plan (\(limit)) has been reached")
        }
    }
}

extension Engine {
    /// Runs one mutation: inside a single write transaction it checks the idempotency key, runs `body` (which
    /// validates, writes and audits), bumps the configuration version and stores the response for replay. After the
    /// commit the local snapshot is reloaded before returning, so the caller's next request sees its own write.
    ///
    /// `wire` gives the answer's `data` for the value `body` made (stored with the response for a replay).
    func mutate<Value: Sendable>(
        _ context: RequestContext, status: Int = 200, wire: @Sendable @escaping (Value) -> JSONValue,
        _ body: @Sendable @escaping (inout Mutation) throws -> Value
    ) async throws -> MutationResult<Value> {
        let now = clock.nowMillis()
        let mode = mode
        let tenantId = tenantId
        let sealer = sealer
        let limits = config.limits
        let ownListeners = ownListeners
        let outcome: MutationResult<Value>
        do {
            outcome = try await store.write { access in
                if let key = context.idempotencyKey {
                    let since = now - 24 * 3600 * 1000
                    if let stored = try access.storedResponse(actor: context.actor.auditLabel, key: key, since: since) {
                        guard stored.fingerprint == (context.fingerprint ?? "") else {
                            throw ApiError(
                                .conflict,
                                "X-Idempotency-Key was already used with a different request within the last 24 hours",
                                field: "X-Idempotency-Key")
                        }
                        return MutationResult(
                            answer: MutationAnswer(
                                status: stored.status, data: (try? JSONValue.parse(stored.response)) ?? .null,
                                requestId: stored.requestId, replayed: true),
                            value: nil)
                    }
                }
                var m = Mutation(
                    access: access, context: context, now: now, mode: mode, tenantId: tenantId, sealer: sealer,
                    limits: limits, ownListeners: ownListeners)
                let value = try body(&m)
                let data = wire(value)
                // Every mutation writes an audit row; a handler that forgot is a bug, and nothing of it is kept.
                guard m.audits > 0 else { throw ApiError(.internalError, "The change was not recorded and was undone") }
                try access.bumpConfigVersion()
                if let key = context.idempotencyKey {
                    try access.storeResponse(
                        actor: context.actor.auditLabel, key: key,
                        StoredResponse(
                            fingerprint: context.fingerprint ?? "", status: status, response: data.serialized(),
                            requestId: context.requestId, createdAt: now),
                        expireBefore: now - 24 * 3600 * 1000)
                }
                return MutationResult(
                    answer: MutationAnswer(status: status, data: data, requestId: context.requestId, replayed: false),
                    value: value)
            }
        } catch is StoreBusy {
            throw ApiError(.dependencyUnavailable, "The database is busy; retry shortly", retryAfter: 1)
        } catch let error as StoreUnavailable {
            throw Engine.unwritable(error, logger: logger, mode: mode)
        }
        if !outcome.replayed { try await reloadSnapshot() }
        return outcome
    }

    /// Runs a write that is not configuration (no audit row, no version bump), mapping a busy database to
    /// `dependency_unavailable`.
    func write<T: Sendable>(_ body: @Sendable @escaping (any StoreTransaction) throws -> T) async throws -> T {
        do {
            return try await store.write(body)
        } catch is StoreBusy {
            throw ApiError(.dependencyUnavailable, "The database is busy; retry shortly", retryAfter: 1)
        } catch let error as StoreUnavailable {
            throw Engine.unwritable(error, logger: logger, mode: mode)
        }
    }

    /// A database that cannot be used now (disk full, read-only, I/O error): `503 dependency_unavailable`, and a
    /// warning with SQLite's reason for the operator (the caller is not told more). The data plane goes on from its
    /// snapshot meanwhile.
    static func unwritable(_ error: StoreUnavailable, logger: Logger, mode: Mode) -> ApiError {
        logger.warning("database write failed", metadata: ["mode": "\(mode.rawValue)", "reason": "\(error.reason)"])
        return ApiError(
            .dependencyUnavailable, "The database cannot be used right now; nothing was changed, retry later",
            retryAfter: 5)
    }

    /// Runs a read in a transaction, mapping a busy database to `dependency_unavailable`.
    func query<T: Sendable>(_ body: @Sendable @escaping (any StoreTransaction) throws -> T) async throws -> T {
        do {
            return try await store.read(body)
        } catch is StoreBusy {
            throw ApiError(.dependencyUnavailable, "The database is busy; retry shortly", retryAfter: 1)
        } catch let error as StoreUnavailable {
            throw Engine.unwritable(error, logger: logger, mode: mode)
        }
    }
}

extension RequestContext {
    /// A fingerprint of one request, so that a reused idempotency key with a different request is recognised.
    public static func fingerprint(method: String, path: String, body: [UInt8]) -> String {
        KeyHasher.sha256Hex(Array("\(method) \(path)\n".utf8) + body)
    }
}
