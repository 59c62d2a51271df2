import GRDB
import KnoxCore

/// Filters of the tenant-wide request log feed.
public struct RequestLogFilter: Sendable, Equatable {
    public var routeId: String?
    public var statusCode: Int?

    public init(routeId: String? = nil, statusCode: Int? = nil) {
        self.routeId = routeId
        self.statusCode = statusCode
    }
}

extension StoreAccess {
    public static let requestLogSortColumns = ["ts": "ts", "created_at": "ts", "status_code": "status_code", "latency_ms": "latency_ms"]

    /// One route's log rows, newest first by default.
    public func requestLogs(routeId: String, _ request: PageRequest) throws -> Page<RequestLogEntry> {
        try page(
            RequestLogEntry.self, from: "api_requests", where: ["route_id = ?"], arguments: [routeId],
            request: request, sortColumns: Self.requestLogSortColumns, tiebreak: "seq")
    }

    /// Keyset feed: rows with `seq` above `after`, oldest first.
    public func requestLogFeed(after: Int64, limit: Int, filter: RequestLogFilter) throws -> [RequestLogEntry] {
        var conditions = ["seq > ?"]
        var args: StatementArguments = [after]
        if let routeId = filter.routeId { conditions.append("route_id = ?"); args += [routeId] }
        if let status = filter.statusCode { conditions.append("status_code = ?"); args += [status] }
        args += [limit]
        return try RequestLogEntry.fetchAll(
            db,
            sql: "SELECT * FROM api_requests WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq LIMIT ?",
            arguments: args)
    }

    public func requestLog(requestId: String) throws -> RequestLogEntry? {
        try RequestLogEntry.fetchOne(
            db, sql: "SELECT * FROM api_requests WHERE request_id = ? ORDER BY seq DESC LIMIT 1", arguments: [requestId])
    }

    /// Number of log rows since `from` (epoch ms).
    public func requestLogCount(since from: Int64) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_requests WHERE ts >= ?", arguments: [from]) ?? 0
    }

    /// The highest row id written so far.
    public func lastRequestLogSeq() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM api_requests") ?? 0
    }

    /// Deletes rows older than `cutoff` (epoch ms); returns how many. Rows are appended in time order, so the
    /// boundary is found by a binary search over `seq` (rowid lookups) rather than an index on `ts`.
    public func deleteRequestLogs(before cutoff: Int64) throws -> Int {
        guard var low = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM api_requests"),
            var high = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM api_requests")
        else { return 0 }
        // Find the last seq whose row (or the nearest row after it) is older than the cutoff.
        var boundary: Int64 = low - 1
        while low <= high {
            let mid = low + (high - low) / 2
            guard let row = try Row.fetchOne(
                db, sql: "SELECT seq, ts FROM api_requests WHERE seq >= ? ORDER BY seq LIMIT 1", arguments: [mid])
            else { break }
            let seq: Int64 = row["seq"]
            let ts: Int64 = row["ts"]
            if ts < cutoff {
                boundary = seq
                low = seq + 1
            } else {
                high = mid - 1
            }
        }
        try db.execute(sql: "DELETE FROM api_requests WHERE seq <= ?", arguments: [boundary])
        return db.changesCount
    }

    /// Rows after `seq`, oldest first (for tailing the table when another process writes it).
    public func requestLogsAfter(_ seq: Int64, limit: Int) throws -> [RequestLogEntry] {
        try RequestLogEntry.fetchAll(
            db, sql: "SELECT * FROM api_requests WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit])
    }

    private static let requestLogColumns = """
        INSERT INTO api_requests (request_id, route_id, ts, src_ip, method, path, status_code, latency_ms,
            upstream_latency_ms, upstream_host, upstream_status, error, environment, rate_limited,
            signature_valid, matched_client_id, identification_method, api_key_id, proxy_mode, client_origin,
            request_headers)
        VALUES
        """
    private static let rowPlaceholders = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    /// Rows per multi-row INSERT (21 columns each, far below SQLite's variable limit).
    private static let rowsPerStatement = 50
    private static let multiRowSQL =
        requestLogColumns + Array(repeating: rowPlaceholders, count: rowsPerStatement).joined(separator: ",")

    /// Appends rows (the data plane's batching writer calls this), 50 rows per statement.
    public func insert(_ entries: [RequestLogEntry]) throws {
        var index = 0
        while index < entries.count {
            let count = min(Self.rowsPerStatement, entries.count - index)
            let statement =
                count == Self.rowsPerStatement
                ? try db.cachedStatement(sql: Self.multiRowSQL)
                : try db.cachedStatement(sql: Self.requestLogColumns + Array(repeating: Self.rowPlaceholders, count: count).joined(separator: ","))
            var values: [(any DatabaseValueConvertible)?] = []
            values.reserveCapacity(count * 21)
            for e in entries[index..<(index + count)] {
                values += [
                    e.requestId, e.routeId, e.ts, e.srcIp, e.method, e.path, e.statusCode, e.latencyMs,
                    e.upstreamLatencyMs, e.upstreamHost, e.upstreamStatus, e.error, e.environment, e.rateLimited,
                    e.signatureValid, e.matchedClientId, e.identificationMethod, e.apiKeyId, e.proxyMode, e.clientOrigin,
                    e.requestHeaders,
                ] as [(any DatabaseValueConvertible)?]
            }
            try statement.execute(arguments: StatementArguments(values))
            index += count
        }
    }
}
