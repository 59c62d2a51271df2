import GRDB
import GRDBSQLite
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

    /// Appends rows (the data plane's batching writer calls this), 50 rows per statement. Values are bound straight
    /// into SQLite: building GRDB's `StatementArguments` (an existential per column) cost the writer more than the
    /// insert itself, on the core the proxy shares.
    public func insert(_ entries: [RequestLogEntry]) throws {
        var index = 0
        while index < entries.count {
            let count = min(Self.rowsPerStatement, entries.count - index)
            let statement =
                count == Self.rowsPerStatement
                ? try db.cachedStatement(sql: Self.multiRowSQL)
                : try db.cachedStatement(sql: Self.requestLogColumns + Array(repeating: Self.rowPlaceholders, count: count).joined(separator: ","))
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            var binder = RowBinder(handle: handle)
            for e in entries[index..<(index + count)] {
                binder.text(e.requestId)
                binder.text(e.routeId)
                binder.int(e.ts)
                binder.text(e.srcIp)
                binder.text(e.method)
                binder.text(e.path)
                binder.int(e.statusCode.map(Int64.init))
                binder.int(e.latencyMs.map(Int64.init))
                binder.int(e.upstreamLatencyMs.map(Int64.init))
                binder.text(e.upstreamHost)
                binder.int(e.upstreamStatus.map(Int64.init))
                binder.text(e.error)
                binder.text(e.environment)
                binder.int(e.rateLimited ? 1 : 0)
                binder.int(e.signatureValid.map { $0 ? 1 : 0 })
                binder.text(e.matchedClientId)
                binder.text(e.identificationMethod)
                binder.text(e.apiKeyId)
                binder.text(e.proxyMode)
                binder.text(e.clientOrigin)
                binder.text(e.requestHeaders)
            }
            if let failure = binder.failure {
                throw DatabaseError(resultCode: ResultCode(rawValue: failure), message: "binding a request log row failed")
            }
            let code = sqlite3_step(handle)
            sqlite3_reset(handle)
            guard code == SQLITE_DONE else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            index += count
        }
    }
}

/// Binds one statement's parameters in order (1-based, as SQLite counts them).
private struct RowBinder {
    let handle: OpaquePointer
    var position: Int32 = 1
    /// The first failed bind's result code.
    var failure: Int32?

    mutating func text(_ value: String?) {
        defer { position += 1 }
        guard var text = value else { return }  // cleared bindings are NULL
        let code = text.withUTF8 { bytes -> Int32 in
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                return sqlite3_bind_text(handle, position, "", 0, nil)  // empty text, not NULL
            }
            // SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, position, $0, Int32(bytes.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
        }
        record(code)
    }

    mutating func int(_ value: Int64?) {
        defer { position += 1 }
        guard let value else { return }
        record(sqlite3_bind_int64(handle, position, value))
    }

    private mutating func record(_ code: Int32) {
        if code != SQLITE_OK && failure == nil { failure = code }
    }
}
