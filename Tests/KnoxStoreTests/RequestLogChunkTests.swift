import Foundation
import GRDB
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxStore

/// The request log packed into chunks: every query answers exactly what the one-row-per-request table answered,
/// across chunk boundaries, for rows out of time order, and after trimming.
@Suite struct RequestLogChunkTests {
    static let base: Int64 = 1_796_000_000_000

    func withStore(_ body: (Store) async throws -> Void) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        try await body(try Store(path: dir.file("live.sqlite")))
    }

    /// A version 7 id for time `ts`, made the way the data plane makes them (`n` only tells calls apart).
    static func id(_ ts: Int64, _ n: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return Identifier.requestID(millis: ts, using: &rng)
    }

    /// `count` rows over three routes (and some with none), times mostly rising, with slow requests (their rows
    /// written late, with older times), statuses and latencies that repeat and are sometimes absent.
    static func rows(_ count: Int, from: Int64 = base) -> [RequestLogEntry] {
        (0..<count).map { i in
            // Every fifth request finishes late (60 ms: its row is written after rows that started later, so the
            // time ranges of neighbouring chunks overlap and times repeat), and some much later (40 s).
            let ts = from + Int64(i) * 2 - (i % 97 == 5 ? 40_000 : i % 5 == 3 ? 60 : 0)
            return RequestLogEntry(
                requestId: id(ts, i), routeId: i % 13 == 0 ? nil : ["rte_a", "rte_b", "rte_c"][i % 3], ts: ts,
                srcIp: "10.0.0.\(i % 7)", method: i % 5 == 0 ? "POST" : "GET", path: "/p/\(i % 11)",
                statusCode: i % 17 == 0 ? nil : [200, 201, 404, 429][i % 4], latencyMs: i % 19 == 0 ? nil : i % 23,
                apiKeyId: "key_1")
        }
    }

    @Test func rowsReadBackAcrossChunks() async throws {
        try await withStore { store in
            let rows = Self.rows(2 * RequestLogChunk.maxRows + 300)
            try await store.write { try $0.insert(Array(rows[..<1500])) }
            try await store.write { try $0.insert(Array(rows[1500...])) }
            var read: [RequestLogEntry] = []
            var after: Int64 = 0
            // Pages of 333 rows end inside chunks and at their edges.
            while true {
                let page = try await store.read { [after] in try $0.requestLogsAfter(after, limit: 333) }
                guard let last = page.last else { break }
                read += page
                after = last.seq
            }
            #expect(read.count == rows.count)
            #expect(read.map(\.seq) == Array(1...Int64(rows.count)))
            for (written, got) in zip(rows, read) {
                var expected = written
                expected.seq = got.seq
                #expect(got == expected)
            }
            #expect(try await store.read { try $0.lastRequestLogSeq() } == Int64(rows.count))
            let chunks = try await store.readSQLite {
                try Int.fetchOne($0.db, sql: "SELECT COUNT(*) FROM request_log_chunks")
            }
            #expect(chunks == 3)  // 1500 rows: 1024 + 476; then 848 rows: one chunk
        }
    }

    /// Text is kept byte for byte: a precomposed "é" and "e" with a combining accent are equal as Swift strings,
    /// and a row must not come back with its neighbour's bytes.
    @Test func equivalentTextsKeepTheirBytes() async throws {
        try await withStore { store in
            let composed = "/caf\u{E9}"
            let decomposed = "/cafe\u{301}"
            #expect(composed == decomposed)
            let rows = [composed, decomposed, decomposed, "", ""].enumerated().map { i, path in
                RequestLogEntry(requestId: "req_\(i)", ts: Int64(i), method: "GET", path: path, requestHeaders: path)
            }
            try await store.write { try $0.insert(rows) }
            let read = try await store.read { try $0.requestLogsAfter(0, limit: 10) }
            #expect(read.map { Array($0.path.utf8) } == rows.map { Array($0.path.utf8) })
            #expect(
                read.map { $0.requestHeaders.map { Array($0.utf8) } }
                    == rows.map { $0.requestHeaders.map { Array($0.utf8) } })
        }
    }

    @Test func feedFiltersByRouteAndStatus() async throws {
        try await withStore { store in
            let rows = Self.rows(2600)
            try await store.write { try $0.insert(rows) }
            let numbered = rows.enumerated().map { i, r in
                var r = r
                r.seq = Int64(i + 1)
                return r
            }
            for (route, status, after, limit) in [
                ("rte_b", 404, 0, 50), ("rte_a", nil, 1000, 700), (nil, 429, 1023, 100),
            ] as [(String?, Int?, Int64, Int)] {
                let got = try await store.read {
                    try $0.requestLogFeed(
                        after: after, limit: limit, filter: RequestLogFilter(routeId: route, statusCode: status))
                }
                let expected = numbered.filter { r in
                    r.seq > after && (route == nil || r.routeId == route) && (status == nil || r.statusCode == status)
                }.prefix(limit)
                #expect(got == Array(expected), "route \(route ?? "-") status \(status.map(String.init) ?? "-")")
            }
        }
    }

    @Test func findsARowByItsRequestId() async throws {
        try await withStore { store in
            var written = Self.rows(3000)
            // An id that is not a version 7 id, and an id written twice (the later row wins).
            written[10].requestId = "req_custom"
            written[2900].requestId = written[20].requestId
            let rows = written
            try await store.write { try $0.insert(rows) }
            for i in [0, 5, 10, 1023, 1024, 1030, 2048, 2999] {
                let got = try await store.read { try $0.requestLog(requestId: rows[i].requestId) }
                #expect(got?.seq == Int64(i + 1), "row \(i)")
            }
            #expect(try await store.read { try $0.requestLog(requestId: rows[20].requestId) }?.seq == 2901)
            #expect(try await store.read { try $0.requestLog(requestId: Self.id(Self.base + 3, 99_999)) } == nil)
            #expect(try await store.read { try $0.requestLog(requestId: "req_other") } == nil)
        }
    }

    @Test func routePagesMatchASortOfAllRows() async throws {
        try await withStore { store in
            let rows = Self.rows(1500)
            for part in stride(from: 0, to: rows.count, by: 300) {
                try await store.write { try $0.insert(Array(rows[part..<min(part + 300, rows.count)])) }
            }
            let mine = rows.enumerated().compactMap { i, r -> RequestLogEntry? in
                var r = r
                r.seq = Int64(i + 1)
                return r.routeId == "rte_b" ? r : nil
            }
            func key(_ r: RequestLogEntry, _ sort: String) -> Int64? {
                switch sort {
                case "status_code": r.statusCode.map(Int64.init)
                case "latency_ms": r.latencyMs.map(Int64.init)
                default: r.ts
                }
            }
            // By time, one row per page: the page's last row falls on each side of every chunk's edge in turn, where
            // the reader decides whether the next chunk can still hold a row of the page.
            for (sort, perPage) in [("ts", 1), ("created_at", 20), ("status_code", 20), ("latency_ms", 20)] {
                for order in [SortOrder.asc, .desc] {
                    // SQLite's order: NULL first ascending, the column then seq in the same direction.
                    let sorted = mine.sorted { a, b in
                        let (ka, kb) = (key(a, sort), key(b, sort))
                        let less: Bool
                        if ka == kb {
                            less = a.seq < b.seq
                        } else if ka == nil {
                            less = true
                        } else if kb == nil {
                            less = false
                        } else {
                            less = ka! < kb!
                        }
                        return order == .asc ? less : !less
                    }
                    // Every page, and one past the end.
                    for page in 1...(mine.count / perPage + 2) {
                        let request = PageRequest(page: page, perPage: perPage, sort: sort, order: order)
                        let got = try await store.read { try $0.requestLogs(routeId: "rte_b", request) }
                        #expect(got.total == mine.count)
                        #expect(
                            got.items == Array(sorted.dropFirst(request.offset).prefix(perPage)),
                            "\(sort) \(order) page \(page)")
                    }
                }
            }
            let none = try await store.read {
                try $0.requestLogs(routeId: "rte_z", PageRequest(sort: "ts", order: .desc))
            }
            #expect(none.items.isEmpty && none.total == 0)
        }
    }

    @Test func trimmingRemovesExactlyTheOldRows() async throws {
        try await withStore { store in
            let rows = Self.rows(3000)
            try await store.write { try $0.insert(rows) }
            let cutoff = Self.base + 2 * 1500
            let old = rows.filter { $0.ts < cutoff }.count
            #expect(try await store.read { try $0.requestLogCount(since: cutoff) } == rows.count - old)
            #expect(try await store.write { try $0.deleteRequestLogs(before: cutoff) } == old)
            let left = try await store.read { try $0.requestLogsAfter(0, limit: 5000) }
            let expected = rows.enumerated().compactMap { i, r -> RequestLogEntry? in
                var r = r
                r.seq = Int64(i + 1)
                return r.ts >= cutoff ? r : nil
            }
            #expect(left == expected)
            // A row rewritten with its chunk is still found by its id; ids go on from the highest ever handed out.
            #expect(
                try await store.read { try $0.requestLog(requestId: expected[0].requestId) }?.seq == expected[0].seq)
            #expect(try await store.write { try $0.deleteRequestLogs(before: .max) } == expected.count)
            #expect(try await store.read { try $0.requestLogCount(since: 0) } == 0)
            #expect(try await store.read { try $0.lastRequestLogSeq() } == 3000)
            try await store.write { try $0.insert(Self.rows(1)) }
            #expect(try await store.read { try $0.requestLogsAfter(0, limit: 10) }.map(\.seq) == [3001])
        }
    }

    /// A database of the one-row-per-request schema is moved into chunks when opened: rows keep their ids and
    /// fields, and trimmed rows' ids are not handed out again.
    @Test func migratesTheRowTable() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("live.sqlite")
        let rows = Self.rows(1500)
        do {
            let queue = try DatabaseQueue(path: path)
            try Migrations.migrator().migrate(queue, upTo: "2026-11-23-v6-oauth-authorization-code")
            try await queue.write { db in
                for r in rows {
                    try db.execute(
                        sql: """
                            INSERT INTO api_requests (request_id, route_id, ts, src_ip, method, path, status_code,
                                latency_ms, api_key_id, rate_limited, proxy_mode, client_origin)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'route', 'direct')
                            """,
                        arguments: [
                            r.requestId, r.routeId, r.ts, r.srcIp, r.method, r.path, r.statusCode, r.latencyMs,
                            r.apiKeyId,
                        ])
                }
                // The first ten were trimmed before the upgrade; their ids stay used.
                try db.execute(sql: "DELETE FROM api_requests WHERE seq <= 10")
                try db.execute(
                    sql:
                        "INSERT INTO api_requests (request_id, ts, method, path, rate_limited, proxy_mode, client_origin) VALUES ('req_last', 1, 'GET', '/', 0, 'route', 'direct')"
                )
                try db.execute(sql: "DELETE FROM api_requests WHERE request_id = 'req_last'")
            }
        }
        let store = try Store(path: path)
        let read = try await store.read { try $0.requestLogsAfter(0, limit: 5000) }
        #expect(read.map(\.seq) == Array(11...1500))
        for got in read {
            var expected = rows[Int(got.seq) - 1]
            expected.seq = got.seq
            #expect(got == expected)
        }
        #expect(try await store.read { try $0.lastRequestLogSeq() } == 1501)
        #expect(try await store.read { try $0.requestLog(requestId: rows[700].requestId) }?.seq == 701)
        let table = try await store.readSQLite {
            try Int.fetchOne($0.db, sql: "SELECT COUNT(*) FROM sqlite_master WHERE name = 'api_requests'")
        }
        #expect(table == 0)
    }

    @Test func aMalformedChunkIsAnErrorNotACrash() async throws {
        // Cut short; a text longer than what is left; a NULL request id; an unterminated varint; a row id delta past
        // Int64.max (the row id must not overflow).
        let huge: [UInt8] = Array(repeating: 0xFF, count: 9) + [0x01]
        for bytes: [UInt8] in [[1], [1, 9, 65], [1, 0], [0xFF, 0xFF], huge] {
            #expect(throws: LogChunkCorrupt.self) { try LogChunkDecoder.rows(bytes, firstSeq: 1) }
        }
    }
}

/// Records the data plane hands over are stored as rows; one whose bytes are not a record (only a bug could make
/// one) is left out, never stored half, and the rows around it keep their order and their ids.
@Suite struct LogRecordInsertTests {
    @Test func unreadableRecordIsLeftOut() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("live.sqlite"))
        let rows = RequestLogChunkTests.rows(5)
        var records = rows.map(LogRecord.init)
        let whole = records[2]
        let cut = UnsafeMutableRawPointer.allocate(byteCount: whole.count - 1, alignment: 1)
        cut.copyMemory(from: whole.base, byteCount: whole.count - 1)
        records[2] = LogRecord(base: cut, count: whole.count - 1)
        whole.release()
        defer { for record in records { record.release() } }
        let written = try await store.write { [records] in try $0.insert(records: records).count }
        #expect(written == 4)
        let read = try await store.read { try $0.requestLogsAfter(0, limit: 10) }
        #expect(read.map(\.requestId) == [0, 1, 3, 4].map { rows[$0].requestId })
        #expect(read.map(\.seq) == [1, 2, 3, 4])
    }
}
