import GRDB
import KnoxCore

/// A stored response to a mutation, replayed when the same idempotency key comes again.
public struct StoredResponse: Sendable, Equatable {
    public let fingerprint: String
    public let status: Int
    /// The `data` member of the original response, as JSON text.
    public let response: String
    public let requestId: String
    public let createdAt: Int64

    public init(fingerprint: String, status: Int, response: String, requestId: String, createdAt: Int64) {
        self.fingerprint = fingerprint
        self.status = status
        self.response = response
        self.requestId = requestId
        self.createdAt = createdAt
    }
}

extension StoreAccess {
    /// The stored response for (actor, key) made at or after `since`.
    public func storedResponse(actor: String, key: String, since: Int64) throws -> StoredResponse? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT fingerprint, status, response, request_id, created_at FROM idempotency_keys
                WHERE actor = ? AND idempotency_key = ? AND created_at >= ?
                """,
            arguments: [actor, key, since]
        ).map {
            StoredResponse(
                fingerprint: $0["fingerprint"], status: $0["status"], response: $0["response"],
                requestId: $0["request_id"], createdAt: $0["created_at"])
        }
    }

    /// Stores a response, dropping entries older than `expireBefore` on the way.
    public func storeResponse(actor: String, key: String, _ stored: StoredResponse, expireBefore: Int64) throws {
        try db.execute(sql: "DELETE FROM idempotency_keys WHERE created_at < ?", arguments: [expireBefore])
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO idempotency_keys
                    (actor, idempotency_key, fingerprint, status, response, request_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                actor, key, stored.fingerprint, stored.status, stored.response, stored.requestId, stored.createdAt,
            ])
    }
}
