import Foundation
import GRDB
import GRDBSQLite
import KnoxCore

#if canImport(Glibc)
    import Glibc
#endif

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
    public static let requestLogSortColumns = [
        "ts": "ts", "created_at": "ts", "status_code": "status_code", "latency_ms": "latency_ms",
    ]

    /// One route's log rows, newest first by default. Sorted by time, only the chunks that can hold a row of the page
    /// are read (chunks come in time order, and each records its rows' time range per route); sorted by status or
    /// latency, every chunk of the route is. Either way, the first `offset + perPage` places are ranked by
    /// (column, seq) alone, and then only the page's rows are kept.
    public func requestLogs(routeId: String, _ request: PageRequest) throws -> Page<RequestLogEntry> {
        let chunks = try Row.fetchAll(
            db,
            sql: "SELECT first_seq, row_count, min_ts, max_ts FROM request_log_chunk_routes WHERE route_id = ?",
            arguments: [routeId]
        ).map { row -> (firstSeq: Int64, count: Int, minTs: Int64, maxTs: Int64) in
            (row[0], row[1], row[2], row[3])
        }
        let total = chunks.reduce(0) { $0 + $1.count }
        let need = request.offset + request.perPage
        guard request.offset < total else { return Page(items: [], total: total, request: request) }
        let column = Self.requestLogSortColumns[request.sort] ?? "ts"
        let ascending = request.order == .asc
        let key: (RequestLogEntry) -> Int64? =
            switch column {
            case "status_code": { $0.statusCode.map(Int64.init) }
            case "latency_ms": { $0.latencyMs.map(Int64.init) }
            default: { $0.ts }
            }
        // Pass 1 ranks the rows by (key, seq) alone, holding `need` of those and no row; pass 2 reads the page's rows.
        var best = LogPageSelection(limit: need, ascending: ascending)
        var recent: [Int64: [RequestLogEntry]] = [:]
        func rank(_ chunk: Int64) throws {
            let rows = try requestLogChunkRows(firstSeq: chunk)
            for row in rows where row.routeId == routeId { best.offer(LogRank(key: key(row), seq: row.seq)) }
            if recent.count == 4 { recent.removeAll(keepingCapacity: true) }
            recent[chunk] = rows
        }
        if column == "ts" {
            // Newest first: chunks by their latest row; once `need` rows are held, a chunk whose latest row is older
            // than the worst held cannot change the page (and every later chunk's latest is older still).
            let ordered = ascending ? chunks.sorted { $0.minTs < $1.minTs } : chunks.sorted { $0.maxTs > $1.maxTs }
            for chunk in ordered {
                if let bound = best.worstKey {
                    if ascending ? chunk.minTs > bound : chunk.maxTs < bound { break }
                }
                try rank(chunk.firstSeq)
            }
        } else {
            for chunk in chunks { try rank(chunk.firstSeq) }
        }
        let page = best.ordered().dropFirst(request.offset)
        let starts = chunks.map(\.firstSeq).sorted()
        var items: [RequestLogEntry] = []
        for entry in page {
            // The chunk holding the row: the last of the route's chunks that starts at or before it.
            var low = 0
            var high = starts.count
            while low < high {
                let mid = (low + high) / 2
                if starts[mid] <= entry.seq { low = mid + 1 } else { high = mid }
            }
            guard low > 0 else { continue }
            let chunk = starts[low - 1]
            if recent[chunk] == nil {
                if recent.count == 4 { recent.removeAll(keepingCapacity: true) }
                recent[chunk] = try requestLogChunkRows(firstSeq: chunk)
            }
            if let row = recent[chunk]?.first(where: { $0.seq == entry.seq }) { items.append(row) }
        }
        return Page(items: items, total: total, request: request)
    }

    /// Keyset feed: rows with `seq` above `after`, oldest first.
    public func requestLogFeed(after: Int64, limit: Int, filter: RequestLogFilter) throws -> [RequestLogEntry] {
        guard limit > 0 else { return [] }
        var rows: [RequestLogEntry] = []
        var from = try requestLogChunkHolding(after + 1, routeId: filter.routeId)
        while rows.count < limit {
            // A chunk whose rows all come at or before `after` is skipped unread (a tail polling for new rows finds
            // the last chunk so).
            let chunks: [Row]
            if let routeId = filter.routeId {
                chunks = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT r.first_seq, c.last_seq FROM request_log_chunk_routes r
                        JOIN request_log_chunks c ON c.first_seq = r.first_seq
                        WHERE r.route_id = ? AND r.first_seq >= ? ORDER BY r.first_seq LIMIT 8
                        """,
                    arguments: [routeId, from])
            } else {
                chunks = try Row.fetchAll(
                    db,
                    sql:
                        "SELECT first_seq, last_seq FROM request_log_chunks WHERE first_seq >= ? ORDER BY first_seq LIMIT 8",
                    arguments: [from])
            }
            guard let lastChunk = chunks.last else { break }
            let last: Int64 = lastChunk[0]
            for chunk in chunks {
                let lastSeq: Int64 = chunk[1]
                guard lastSeq > after else { continue }
                for row in try requestLogChunkRows(firstSeq: chunk[0]) where row.seq > after {
                    if let routeId = filter.routeId, row.routeId != routeId { continue }
                    if let status = filter.statusCode, row.statusCode != status { continue }
                    rows.append(row)
                    if rows.count == limit { return rows }
                }
            }
            from = last + 1
        }
        return rows
    }

    /// The row of `requestId` (the latest, should an id repeat). The chunks whose range of id times covers the id's
    /// are found through the R-tree and searched.
    public func requestLog(requestId: String) throws -> RequestLogEntry? {
        let coordinate = RequestLogChunk.rtreeCoordinate(RequestLogChunk.idKey(requestId))
        let chunks = try Int64.fetchAll(
            db,
            sql:
                "SELECT first_seq FROM request_log_chunk_ids WHERE min_key <= ? AND max_key >= ? ORDER BY first_seq DESC",
            arguments: [coordinate, coordinate])
        for chunk in chunks {
            if let row = try requestLogChunkRows(firstSeq: chunk).last(where: { $0.requestId == requestId }) {
                return row
            }
        }
        return nil
    }

    /// Number of log rows since `from` (epoch ms).
    public func requestLogCount(since from: Int64) throws -> Int {
        let whole =
            try Int.fetchOne(
                db, sql: "SELECT COALESCE(SUM(row_count), 0) FROM request_log_chunks WHERE min_ts >= ?",
                arguments: [from])
            ?? 0
        // Chunks that straddle `from` are counted row by row.
        let straddling = try Int64.fetchAll(
            db, sql: "SELECT first_seq FROM request_log_chunks WHERE max_ts >= ? AND min_ts < ?",
            arguments: [from, from])
        var partial = 0
        for chunk in straddling {
            partial += try requestLogChunkRows(firstSeq: chunk).reduce(0) { $0 + ($1.ts >= from ? 1 : 0) }
        }
        return whole + partial
    }

    /// The highest row id written so far (ids are never reused, even after every row is trimmed).
    public func lastRequestLogSeq() throws -> Int64 {
        // Cached, like the writer's other statements: it runs with every batch, and preparing a statement runs
        // GRDB's authorizer over it each time.
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT last_seq FROM request_log_state WHERE id = 1")) ?? 0
    }

    /// Deletes rows older than `cutoff` (epoch ms); returns how many. Chunks wholly older go at once; a chunk holding
    /// rows on both sides of the cutoff is written again without its old rows.
    public func deleteRequestLogs(before cutoff: Int64) throws -> Int {
        let old = try Row.fetchAll(
            db, sql: "SELECT first_seq, row_count, max_ts FROM request_log_chunks WHERE min_ts < ?", arguments: [cutoff]
        )
        var removed = 0
        let encoder = LogChunkEncoder()
        for chunk in old {
            let firstSeq: Int64 = chunk[0]
            let count: Int = chunk[1]
            let maxTs: Int64 = chunk[2]
            var kept: [RequestLogEntry] = []
            if maxTs >= cutoff { kept = try requestLogChunkRows(firstSeq: firstSeq).filter { $0.ts >= cutoff } }
            try deleteRequestLogChunk(firstSeq: firstSeq)
            if !kept.isEmpty {
                encoder.reset()
                encoder.append(keeping: kept)
                try writeRequestLogChunk(encoder)
            }
            removed += count - kept.count
        }
        return removed
    }

    /// Rows after `seq`, oldest first (for tailing the table when another process writes it).
    public func requestLogsAfter(_ seq: Int64, limit: Int) throws -> [RequestLogEntry] {
        try requestLogFeed(after: seq, limit: limit, filter: RequestLogFilter())
    }

    /// Appends rows (the data plane's batching writer calls this), numbered after the last row written, packed into
    /// chunks of at most `RequestLogChunk.maxRows`. A chunk is one SQLite row: a row per request cost the writer
    /// ~4.3 µs of SQLite per row on the core the proxy shares (the table's B-tree and its two indexes); a chunk costs
    /// the encoding and a share of one blob.
    public func insert(_ entries: [RequestLogEntry]) throws {
        let records = entries.map(LogRecord.init)
        defer { for record in records { record.release() } }
        _ = try insert(records: records, stored: { _ in })
    }

    /// `insert(_:)` for rows as the data plane hands them over. Returns the records stored, in order: all of them
    /// but any whose bytes are not a record (which only a bug could make), left out rather than stored half.
    /// `stored` sees each stored row's fields as they are encoded (the writer takes the keys' last use from them), so
    /// no record is read twice.
    @discardableResult
    public func insert(records: [LogRecord], stored: (UnsafePointer<LogRecordField>) -> Void) throws -> [LogRecord] {
        guard !records.isEmpty else { return [] }
        var seq = try lastRequestLogSeq()
        let encoder = LogChunkEncoder()
        var written: [LogRecord] = []
        written.reserveCapacity(records.count)
        var index = 0
        while index < records.count {
            let end = min(index + RequestLogChunk.maxRows, records.count)
            encoder.reset()
            for i in index..<end {
                if encoder.append(records[i], seq: seq + 1) {
                    seq += 1
                    written.append(records[i])
                    stored(encoder.lastRowFields)
                }
                // Let a waiting thread (the data plane's event loop, when the process shares a core with it) run
                // every few hundred microseconds: a batch of a few thousand rows would otherwise hold the core for
                // milliseconds, and every request in flight would wait that long. When nothing else is runnable
                // this returns at once.
                if i % Self.rowsPerYield == Self.rowsPerYield - 1 { sched_yield() }
            }
            if encoder.summary.rowCount > 0 { try writeRequestLogChunk(encoder) }
            index = end
        }
        try db.cachedStatement(
            sql:
                "INSERT INTO request_log_state (id, last_seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq"
        ).execute(arguments: [seq])
        return written
    }

    /// Rows encoded between two yields of the core (~2 µs each).
    private static let rowsPerYield = 64

    /// The seq of the chunk holding `seq` or, if none does, of the first after it (with `routeId`, among that
    /// route's chunks).
    private func requestLogChunkHolding(_ seq: Int64, routeId: String?) throws -> Int64 {
        if let routeId {
            return try Int64.fetchOne(
                db, sql: "SELECT MAX(first_seq) FROM request_log_chunk_routes WHERE route_id = ? AND first_seq <= ?",
                arguments: [routeId, seq]) ?? seq
        }
        return try Int64.fetchOne(
            db, sql: "SELECT MAX(first_seq) FROM request_log_chunks WHERE first_seq <= ?", arguments: [seq]) ?? seq
    }

    /// The rows of one chunk.
    func requestLogChunkRows(firstSeq: Int64) throws -> [RequestLogEntry] {
        guard
            let blob = try Data.fetchOne(
                db, sql: "SELECT rows FROM request_log_chunks WHERE first_seq = ?", arguments: [firstSeq])
        else { return [] }
        return try LogChunkDecoder.rows([UInt8](blob), firstSeq: firstSeq)
    }

    /// Stores the encoder's chunk and its index entries.
    func writeRequestLogChunk(_ encoder: LogChunkEncoder) throws {
        encoder.finish()
        let s = encoder.summary
        do {
            let blob = encoder.bytes
            let statement = try db.cachedStatement(
                sql:
                    "INSERT INTO request_log_chunks (first_seq, last_seq, row_count, min_ts, max_ts, rows) VALUES (?, ?, ?, ?, ?, ?)"
            )
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            sqlite3_bind_int64(handle, 1, s.firstSeq)
            sqlite3_bind_int64(handle, 2, s.lastSeq)
            sqlite3_bind_int64(handle, 3, Int64(s.rowCount))
            sqlite3_bind_int64(handle, 4, s.minTs)
            sqlite3_bind_int64(handle, 5, s.maxTs)
            // SQLITE_STATIC: SQLite reads the encoder's buffer in place; it stays valid until the reset above.
            sqlite3_bind_blob(handle, 6, blob.baseAddress, Int32(blob.count), nil)
            let code = sqlite3_step(handle)
            if code != SQLITE_DONE {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code),
                    message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
        }
        let route = try db.cachedStatement(
            sql:
                "INSERT INTO request_log_chunk_routes (route_id, first_seq, row_count, min_ts, max_ts) VALUES (?, ?, ?, ?, ?)"
        )
        for (routeId, r) in s.routes {
            try route.execute(arguments: [routeId, s.firstSeq, r.count, r.minTs, r.maxTs])
        }
        try db.cachedStatement(sql: "INSERT INTO request_log_chunk_ids (first_seq, min_key, max_key) VALUES (?, ?, ?)")
            .execute(arguments: [
                s.firstSeq, RequestLogChunk.rtreeCoordinate(s.minKey), RequestLogChunk.rtreeCoordinate(s.maxKey),
            ])
    }

    private func deleteRequestLogChunk(firstSeq: Int64) throws {
        try db.execute(sql: "DELETE FROM request_log_chunks WHERE first_seq = ?", arguments: [firstSeq])
        try db.execute(sql: "DELETE FROM request_log_chunk_routes WHERE first_seq = ?", arguments: [firstSeq])
        try db.execute(sql: "DELETE FROM request_log_chunk_ids WHERE first_seq = ?", arguments: [firstSeq])
    }
}

/// A row's place in a page's order: its sort column's value and its id.
private struct LogRank {
    let key: Int64?
    let seq: Int64
}

/// The first `limit` rows under a page's order (its column, then `seq`, both ascending or both descending; NULL sorts
/// first ascending and last descending, as in SQLite), as ranks: a heap with the last-placed held on top, so each
/// row costs a comparison and, if it is placed, O(log limit) moves.
private struct LogPageSelection {
    let limit: Int
    let ascending: Bool
    private var heap: [LogRank] = []

    init(limit: Int, ascending: Bool) {
        self.limit = limit
        self.ascending = ascending
    }

    /// The key of the last-placed rank held, once `limit` are held.
    var worstKey: Int64? { heap.count == limit ? heap[0].key : nil }

    /// Whether `a` comes before `b`.
    func before(_ a: LogRank, _ b: LogRank) -> Bool {
        if a.key != b.key {
            switch (a.key, b.key) {
            case (nil, _): return ascending
            case (_, nil): return !ascending
            case (let x?, let y?): return ascending ? x < y : x > y
            }
        }
        return ascending ? a.seq < b.seq : a.seq > b.seq
    }

    mutating func offer(_ rank: LogRank) {
        guard limit > 0 else { return }
        if heap.count < limit {
            heap.append(rank)
            var i = heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard before(heap[parent], heap[i]) else { break }
                heap.swapAt(parent, i)
                i = parent
            }
            return
        }
        guard before(rank, heap[0]) else { return }
        heap[0] = rank
        var i = 0
        while true {
            let left = 2 * i + 1
            guard left < heap.count else { break }
            var later = left
            if left + 1 < heap.count, before(heap[left], heap[left + 1]) { later = left + 1 }
            guard before(heap[i], heap[later]) else { break }
            heap.swapAt(i, later)
            i = later
        }
    }

    /// The ranks held, in the page's order.
    func ordered() -> [LogRank] { heap.sorted(by: before) }
}
