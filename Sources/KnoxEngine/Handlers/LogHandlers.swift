import KnoxCore
import KnoxStore

/// A page of a keyset feed: rows oldest first and the cursor to continue from.
public struct Feed<Item: Sendable>: Sendable {
    public let items: [Item]
    /// Pass back verbatim; nil when the feed is drained for now.
    public let nextCursor: String?
    public let limit: Int

    public init(items: [Item], nextCursor: String?, limit: Int) {
        self.items = items
        self.nextCursor = nextCursor
        self.limit = limit
    }

    public func map<T>(_ transform: (Item) throws -> T) rethrows -> Feed<T> {
        Feed<T>(items: try items.map(transform), nextCursor: nextCursor, limit: limit)
    }

    /// A feed of rows numbered by `seq`: its cursor is the last row's when the page is full (more may follow).
    init(rows: [Item], limit: Int, seq: (Item) -> Int64) {
        self.init(items: rows, nextCursor: rows.count == limit ? rows.last.map { String(seq($0)) } : nil, limit: limit)
    }
}

/// The wire form of a feed's page.
public typealias FeedPage = Feed<JSONValue>

extension Engine {
    /// The filters of the audit log, as a page and as a feed.
    static let auditFilters: [QueryParameter] = [
        QueryParameter("action", .text(maxLength: 100), "Exact action, e.g. route.created"),
        QueryParameter("action_prefix", .text(maxLength: 100), "Action prefix, e.g. route."),
        QueryParameter("resource_type", .text(maxLength: 100), "route, secret, client, environment, api_key"),
        QueryParameter("resource_id", .text(maxLength: 100), "One resource's id"),
        QueryParameter("from", .time, "Inclusive lower bound (RFC 3339)"),
        QueryParameter("to", .time, "Exclusive upper bound (RFC 3339)"),
    ]

    /// The query of `GET /v1/audit-logs`.
    public static let auditLogQuery = QueryDescriptor.page(
        sort: ["created_at", "action"], default: "created_at", .desc, filters: auditFilters)
    /// The query of `GET /v1/audit-logs/events`.
    public static let auditEventQuery = QueryDescriptor.feed(maxLimit: 500, filters: auditFilters)
    /// The query of `GET /v1/logs`.
    public static let requestLogQuery = QueryDescriptor.feed(
        maxLimit: 1000,
        filters: [
            QueryParameter("route_id", .text(maxLength: 64), "One route (its id)"),
            QueryParameter("status_code", .integer(100...599), "One status"),
        ])

    /// `GET /v1/audit-logs`, newest first; filters `action`, `action_prefix`, `resource_type`, `resource_id`, and the
    /// time range `from` (inclusive) / `to` (exclusive).
    public func auditEntries(_ q: QueryRequest, actor: Actor) async throws -> Page<AuditEntry> {
        try require("audit_log:list", actor)
        let (request, filter) = (q.page, Self.auditFilter(q))
        return try await self.query { try $0.auditEntries(request, filter: filter) }
    }

    /// `GET /v1/audit-logs/events`: the keyset feed, oldest first.
    public func auditEvents(_ q: QueryRequest, actor: Actor) async throws -> Feed<AuditEntry> {
        try require("audit_log:list", actor)
        let (after, limit, filter) = (q.after, q.limit, Self.auditFilter(q))
        let rows = try await self.query { try $0.auditFeed(after: after, limit: limit, filter: filter) }
        return Feed(rows: rows, limit: limit, seq: \.seq)
    }

    /// `GET /v1/logs`: the tenant-wide request log feed, oldest first, filters `route_id` and `status_code`. Whether
    /// a row's caller identity may be shown is the actor's `log:read_identity` (the wire's `includeIdentity`).
    public func requestLogFeed(_ q: QueryRequest, actor: Actor) async throws -> Feed<RequestLogEntry> {
        try require("log:read", actor)
        let (after, limit) = (q.after, q.limit)
        let filter = RequestLogFilter(routeId: q.text("route_id"), statusCode: q.int("status_code"))
        let rows = try await self.query { try $0.requestLogFeed(after: after, limit: limit, filter: filter) }
        return Feed(rows: rows, limit: limit, seq: \.seq)
    }

    /// `GET /v1/logs/:request_id`.
    public func requestLogEntry(_ requestId: String, actor: Actor) async throws -> RequestLogEntry {
        try require("log:read", actor)
        guard let row = try await query({ try $0.requestLog(requestId: requestId) }) else {
            throw ApiError.notFound("Request log entry")
        }
        return row
    }

    static func auditFilter(_ q: QueryRequest) -> AuditFilter {
        let filter = AuditFilter(
            action: q.text("action"), actionPrefix: q.text("action_prefix"), resourceType: q.text("resource_type"),
            resourceId: q.text("resource_id"), from: q.time("from"), to: q.time("to"))
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
