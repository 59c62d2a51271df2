import KnoxCore
import KnoxStore

/// A page of a keyset feed: rows oldest first and the cursor to continue from.
public struct FeedPage: Sendable {
    public let items: [JSONValue]
    /// Pass back verbatim; nil when the feed is drained for now.
    public let nextCursor: String?
    public let limit: Int
}

extension Engine {
    /// `GET /v1/audit-logs`, newest first; filters `action`, `action_prefix`, `resource_type`, `resource_id`, and the
    /// time range `from` (inclusive) / `to` (exclusive).
    public func listAuditLogs(_ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("audit_log:list", actor)
        let q = try QueryReader(
            query,
            allowed: pageParameters.union(["action", "action_prefix", "resource_type", "resource_id", "from", "to"]))
        let request = try PageRequest.parse(
            query, sortable: ["created_at", "action"], defaultSort: "created_at", defaultOrder: .desc)
        let filter = try auditFilter(q)
        return try await self.query { try $0.auditEntries(request, filter: filter) }.map(Wire.auditEntry)
    }

    /// `GET /v1/audit-logs/events`: the keyset feed, oldest first.
    public func auditEvents(_ query: [String: String], actor: Actor) async throws -> FeedPage {
        try require("audit_log:list", actor)
        let q = try QueryReader(
            query,
            allowed: ["cursor", "limit", "action", "action_prefix", "resource_type", "resource_id", "from", "to"])
        let after = try cursor(q)
        let limit = try q.int("limit", in: 1...500) ?? 100
        let filter = try auditFilter(q)
        let rows = try await self.query { try $0.auditFeed(after: after, limit: limit, filter: filter) }
        return FeedPage(
            items: rows.map(Wire.auditEntry), nextCursor: rows.count == limit ? rows.last.map { String($0.seq) } : nil,
            limit: limit)
    }

    /// `GET /v1/logs`: the tenant-wide request log feed, oldest first, filters `route_id` and `status_code`.
    public func requestLogFeed(_ query: [String: String], actor: Actor) async throws -> FeedPage {
        try require("log:read", actor)
        let q = try QueryReader(query, allowed: ["cursor", "limit", "route_id", "status_code"])
        let after = try cursor(q)
        let limit = try q.int("limit", in: 1...1000) ?? 100
        let filter = RequestLogFilter(
            routeId: try q.text("route_id", maxLength: 64), statusCode: try q.int("status_code", in: 100...599))
        let rows = try await self.query { try $0.requestLogFeed(after: after, limit: limit, filter: filter) }
        let identity = actor.permissions.allows("log:read_identity")
        let (tenantId, mode) = (tenantId, mode)
        return FeedPage(
            items: rows.map { Wire.requestLog($0, tenantId: tenantId, mode: mode, includeIdentity: identity) },
            nextCursor: rows.count == limit ? rows.last.map { String($0.seq) } : nil, limit: limit)
    }

    /// `GET /v1/logs/:request_id`.
    public func requestLog(_ requestId: String, actor: Actor) async throws -> JSONValue {
        try require("log:read", actor)
        guard let row = try await query({ try $0.requestLog(requestId: requestId) }) else {
            throw ApiError.notFound("Request log entry")
        }
        return Wire.requestLog(
            row, tenantId: tenantId, mode: mode, includeIdentity: actor.permissions.allows("log:read_identity"))
    }

    private func cursor(_ q: QueryReader) throws(ApiError) -> Int64 {
        guard let raw = q.query["cursor"] else { return 0 }
        guard let v = Int64(raw), v >= 0 else { throw ApiError.invalid("cursor", "is not a cursor this API issued") }
        return v
    }

    private func auditFilter(_ q: QueryReader) throws(ApiError) -> AuditFilter {
        let filter = AuditFilter(
            action: try q.text("action", maxLength: 100), actionPrefix: try q.text("action_prefix", maxLength: 100),
            resourceType: try q.text("resource_type", maxLength: 100),
            resourceId: try q.text("resource_id", maxLength: 100),
            from: try q.time("from"), to: try q.time("to"))
        // `from` at or after `to` is an empty range: it selects nothing (every well-formed pair is a valid query).
        return filter
    }
}

extension Engine {
    /// Request-log rows written after `seq`, oldest first (the console tails the table this way when another
    /// process serves the traffic).
    public func requestLogs(after seq: Int64, limit: Int) async throws -> [RequestLogEntry] {
        try await query { try $0.requestLogsAfter(seq, limit: limit) }
    }

    /// The highest request-log row id so far.
    public func lastRequestLogSeq() async throws -> Int64 {
        try await query { try $0.lastRequestLogSeq() }
    }
}
