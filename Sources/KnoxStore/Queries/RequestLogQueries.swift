#if canImport(Glibc)
import Glibc
#endif
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
    /// Rows per INSERT statement; the writer yields the core between statements (see `insert`). Not fewer: while the
    /// event loop saturates the core it shares with the writer, each yield can hand the core back for a whole
    /// scheduler slice. With 2 rows per statement the writer fell behind, the sink filled and rows were dropped
    /// (bench/proxy.sh: 362k rows written for 1.95M requests), which first read as a 15–25% throughput gain.
    private static let rowsPerStatement = 50
    private static let multiRowSQL = insertSQL(rows: rowsPerStatement)

    /// The INSERT for `rows` rows.
    private static func insertSQL(rows: Int) -> String {
        requestLogColumns + Array(repeating: rowPlaceholders, count: rows).joined(separator: ",")
    }

    /// Appends rows (the data plane's batching writer calls this), `rowsPerStatement` rows per statement. Values are
    /// bound straight into SQLite: building GRDB's `StatementArguments` (an existential per column) cost the writer more
    /// than the insert itself, on the core the proxy shares. The texts of a statement are gathered into one buffer,
    /// reused from statement to statement, that SQLite reads in place (`SQLITE_STATIC`) instead of a copy of each text.
    public func insert(_ entries: [RequestLogEntry]) throws {
        var index = 0
        var values = LogStatementValues(rows: Self.rowsPerStatement)
        let full = try db.cachedStatement(sql: Self.multiRowSQL)
        while index < entries.count {
            let count = min(Self.rowsPerStatement, entries.count - index)
            let statement = count == Self.rowsPerStatement ? full : try db.cachedStatement(sql: Self.insertSQL(rows: count))
            values.removeAll()
            // Each row is read in place through the buffer's addressor (the array's subscript, and `for e in`, copied
            // every row: a retain and a release per text).
            entries.withUnsafeBufferPointer { rows in
                for i in index..<(index + count) { values.append(rows[i]) }
            }
            try values.run(statement.sqliteStatement, connection: db.sqliteConnection)
            index += count
            // Let a waiting thread (the data plane's event loop, when the process shares a core with it) run between
            // statements: a batch of a few thousand rows would otherwise hold the core for milliseconds, every request
            // in flight would wait that long, and the callers and upstreams would sit idle meanwhile. When nothing else
            // is runnable this returns at once.
            if index < entries.count { sched_yield() }
        }
    }
}

/// The values of one multi-row INSERT: texts gathered into one buffer, reused from statement to statement, that
/// SQLite reads in place (`SQLITE_STATIC`), and the parameter list pointing into it. A struct with mutating methods
/// rather than local closures over two variables: captured variables are boxed, and every access to a box goes
/// through the runtime's exclusivity check (`swift_beginAccess` was 2% of the writer's samples).
private struct LogStatementValues {
    private var arena: [UInt8] = []
    private var params: [LogParameter] = []

    init(rows: Int) {
        arena.reserveCapacity(rows * 512)
        params.reserveCapacity(rows * 21)
    }

    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        params.removeAll(keepingCapacity: true)
    }

    private mutating func text(_ value: String?) {
        guard var value else { return params.append(.null) }
        let start = arena.count
        // A native string's bytes are copied in one go (appending its UTF-8 view went byte by byte).
        value.withUTF8 { arena.append(contentsOf: $0) }
        params.append(.text(start, arena.count - start))
    }

    private mutating func int(_ value: Int64?) { params.append(value.map(LogParameter.int) ?? .null) }

    /// Adds one row's 21 values, in the column order of `requestLogColumns`.
    mutating func append(_ e: RequestLogEntry) {
        text(e.requestId)
        text(e.routeId)
        int(e.ts)
        text(e.srcIp)
        text(e.method)
        text(e.path)
        int(e.statusCode.map(Int64.init))
        int(e.latencyMs.map(Int64.init))
        int(e.upstreamLatencyMs.map(Int64.init))
        text(e.upstreamHost)
        int(e.upstreamStatus.map(Int64.init))
        text(e.error)
        text(e.environment)
        int(e.rateLimited ? 1 : 0)
        int(e.signatureValid.map { $0 ? 1 : 0 })
        text(e.matchedClientId)
        text(e.identificationMethod)
        text(e.apiKeyId)
        text(e.proxyMode)
        text(e.clientOrigin)
        text(e.requestHeaders)
    }

    /// Binds the values to `handle` and runs it. Bound, run and unbound while the arena's address is valid: SQLite
    /// keeps pointers into it until then.
    func run(_ handle: OpaquePointer, connection: OpaquePointer?) throws {
        let (failure, message) = arena.withUnsafeBufferPointer { bytes -> (Int32?, String?) in
            sqlite3_reset(handle)
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            let base = bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            for (i, parameter) in params.enumerated() {
                let position = Int32(i + 1)
                let code: Int32
                switch parameter {
                case .null: code = sqlite3_bind_null(handle, position)
                case .int(let value): code = sqlite3_bind_int64(handle, position, value)
                case .text(let offset, let length):
                    if let base, length > 0 {
                        code = sqlite3_bind_text(handle, position, base + offset, Int32(length), nil)  // SQLITE_STATIC
                    } else {
                        // An empty text still needs a pointer, or SQLite stores NULL; SQLITE_TRANSIENT copies it.
                        code = sqlite3_bind_text(handle, position, "", 0, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                    }
                }
                if code != SQLITE_OK { return (code, "binding a request log row failed") }
            }
            let code = sqlite3_step(handle)
            return code == SQLITE_DONE ? (nil, nil) : (code, String(cString: sqlite3_errmsg(connection)))
        }
        if let failure {
            throw DatabaseError(resultCode: ResultCode(rawValue: failure), message: message)
        }
    }
}

/// One bound value of a request-log insert; texts are ranges of the statement's shared buffer.
private enum LogParameter {
    case null
    case int(Int64)
    case text(Int, Int)
}
