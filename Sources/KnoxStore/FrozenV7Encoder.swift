import Foundation
import GRDB
import GRDBSQLite

// Migration v7's own copy of the request-log chunk writer, as the application wrote chunks when v7 landed
// (`LogChunkEncoder` fed through `LogRecord`, and `StoreAccess.writeRequestLogChunk`). FROZEN: never change this
// file. A migration must write the same bytes forever, whatever the application's encoder becomes; a later change
// to the chunk format gets a migration of its own, which reads what this wrote.

/// One row of the one-row-per-request table `api_requests`, read by its column names as v7 read them.
struct FrozenV7LogRow {
    let seq: Int64
    let requestId: String
    let routeId: String?
    let ts: Int64
    let srcIp: String?
    let method: String
    let path: String
    let statusCode: Int64?
    let latencyMs: Int64?
    let upstreamLatencyMs: Int64?
    let upstreamHost: String?
    let upstreamStatus: Int64?
    let error: String?
    let environment: String?
    /// 1 or 0.
    let rateLimited: Int64
    /// 1, 0 or nil.
    let signatureValid: Int64?
    let matchedClientId: String?
    let identificationMethod: String?
    let apiKeyId: String?
    let proxyMode: String
    let clientOrigin: String
    let requestHeaders: String?

    init(_ row: Row) {
        seq = row["seq"]
        requestId = row["request_id"]
        routeId = row["route_id"]
        ts = row["ts"]
        srcIp = row["src_ip"]
        method = row["method"]
        path = row["path"]
        let statusCode: Int? = row["status_code"]
        self.statusCode = statusCode.map(Int64.init)
        let latencyMs: Int? = row["latency_ms"]
        self.latencyMs = latencyMs.map(Int64.init)
        let upstreamLatencyMs: Int? = row["upstream_latency_ms"]
        self.upstreamLatencyMs = upstreamLatencyMs.map(Int64.init)
        upstreamHost = row["upstream_host"]
        let upstreamStatus: Int? = row["upstream_status"]
        self.upstreamStatus = upstreamStatus.map(Int64.init)
        error = row["error"]
        environment = row["environment"]
        let rateLimited: Bool = row["rate_limited"]
        self.rateLimited = rateLimited ? 1 : 0
        let signatureValid: Bool? = row["signature_valid"]
        self.signatureValid = signatureValid.map { $0 ? 1 : 0 }
        matchedClientId = row["matched_client_id"]
        identificationMethod = row["identification_method"]
        apiKeyId = row["api_key_id"]
        proxyMode = row["proxy_mode"]
        clientOrigin = row["client_origin"]
        requestHeaders = row["request_headers"]
    }
}

/// Packs `FrozenV7LogRow`s into one chunk of the v7 format and stores it with its index rows.
///
/// The format: per row, its `seq` as the distance from the previous row's (the first row's from `first_seq - 1`),
/// then the fields in this order: request_id, route_id, ts, src_ip, method, path, status_code, latency_ms,
/// upstream_latency_ms, upstream_host, upstream_status, error, environment, rate_limited, signature_valid,
/// matched_client_id, identification_method, api_key_id, proxy_mode, client_origin, request_headers. Unsigned LEB128
/// varints throughout. `ts` is a zigzag distance from the previous row's (the first row's from 0). A text is 0
/// (NULL), 1 (the same bytes as in the previous row), or its UTF-8 length + 2 and its bytes. An integer has a tag,
/// 0 for NULL or its zigzag value + 2 (wrapping, as the record of the time wrote it), and is written as 0 (NULL), 1
/// (the same tag as in the previous row) or its tag.
final class FrozenV7ChunkEncoder {
    /// Most rows per chunk.
    static let maxRows = 1024

    private(set) var bytes: [UInt8] = []
    private(set) var firstSeq: Int64 = 0
    private(set) var lastSeq: Int64 = 0
    private(set) var rowCount = 0
    private(set) var minTs = Int64.max
    private(set) var maxTs = Int64.min
    private(set) var minKey = Int64.max
    private(set) var maxKey = Int64.min
    /// Per route: rows, and their earliest and latest `ts`.
    private(set) var routes: [String: (count: Int, minTs: Int64, maxTs: Int64)] = [:]
    private var previousSeq: Int64 = 0
    /// The row appended last (of this chunk once `rowCount > 0`).
    private var previous: FrozenV7LogRow?

    /// Starts a new chunk.
    func reset() {
        bytes.removeAll(keepingCapacity: true)
        firstSeq = 0
        lastSeq = 0
        rowCount = 0
        minTs = .max
        maxTs = .min
        minKey = .max
        maxKey = .min
        routes = [:]
        previous = nil
    }

    /// Appends `row` as the row numbered by its own `seq` (above the chunk's previous row's). A row whose `ts` is
    /// `Int64.max` (its tag, the zigzag value + 2, wraps to 0) looked to the record of the time like a row without its
    /// required `ts`, and was left out: so it is here.
    func append(_ row: FrozenV7LogRow) {
        guard Self.tag(row.ts) != 0 else { return }
        let first = rowCount == 0
        if first {
            firstSeq = row.seq
            previousSeq = row.seq - 1
        }
        let p: FrozenV7LogRow? = first ? nil : previous
        let ts = row.ts
        rowCount += 1
        lastSeq = row.seq
        minTs = min(minTs, ts)
        maxTs = max(maxTs, ts)
        let key = Self.idKey(Array(row.requestId.utf8))
        minKey = min(minKey, key)
        maxKey = max(maxKey, key)
        if let route = row.routeId {
            let sum = routes[route]
            routes[route] = (
                count: (sum?.count ?? 0) + 1, minTs: min(sum?.minTs ?? .max, ts), maxTs: max(sum?.maxTs ?? .min, ts)
            )
        }

        varint(UInt64(row.seq - previousSeq))
        previousSeq = row.seq
        text(row.requestId, p?.requestId)
        text(row.routeId, p?.routeId)
        varint(Self.zigzag(ts &- (p.map { $0.ts } ?? 0)))
        text(row.srcIp, p?.srcIp)
        text(row.method, p?.method)
        text(row.path, p?.path)
        int(Self.tag(row.statusCode), p.map { Self.tag($0.statusCode) })
        int(Self.tag(row.latencyMs), p.map { Self.tag($0.latencyMs) })
        int(Self.tag(row.upstreamLatencyMs), p.map { Self.tag($0.upstreamLatencyMs) })
        text(row.upstreamHost, p?.upstreamHost)
        int(Self.tag(row.upstreamStatus), p.map { Self.tag($0.upstreamStatus) })
        text(row.error, p?.error)
        text(row.environment, p?.environment)
        int(Self.tag(row.rateLimited), p.map { Self.tag($0.rateLimited) })
        int(Self.tag(row.signatureValid), p.map { Self.tag($0.signatureValid) })
        text(row.matchedClientId, p?.matchedClientId)
        text(row.identificationMethod, p?.identificationMethod)
        text(row.apiKeyId, p?.apiKeyId)
        text(row.proxyMode, p?.proxyMode)
        text(row.clientOrigin, p?.clientOrigin)
        text(row.requestHeaders, p?.requestHeaders)
        previous = row
    }

    /// Stores the chunk (even one left without rows, as v7 did) and its index rows.
    func write(_ db: Database) throws {
        let statement = try db.cachedStatement(
            sql:
                "INSERT INTO request_log_chunks (first_seq, last_seq, row_count, min_ts, max_ts, rows) VALUES (?, ?, ?, ?, ?, ?)"
        )
        let handle = statement.sqliteStatement
        let failure = bytes.withUnsafeBytes { blob -> DatabaseError? in
            sqlite3_reset(handle)
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            sqlite3_bind_int64(handle, 1, firstSeq)
            sqlite3_bind_int64(handle, 2, lastSeq)
            sqlite3_bind_int64(handle, 3, Int64(rowCount))
            sqlite3_bind_int64(handle, 4, minTs)
            sqlite3_bind_int64(handle, 5, maxTs)
            if let base = blob.baseAddress {
                // SQLITE_STATIC: SQLite reads the bytes in place; they stay valid until the reset above.
                sqlite3_bind_blob(handle, 6, base, Int32(blob.count), nil)
            } else {
                // An empty chunk: a blob of no bytes, never NULL.
                sqlite3_bind_zeroblob(handle, 6, 0)
            }
            let code = sqlite3_step(handle)
            guard code != SQLITE_DONE else { return nil }
            // The message before the reset, as v7 read it.
            return DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        if let failure { throw failure }
        let route = try db.cachedStatement(
            sql:
                "INSERT INTO request_log_chunk_routes (route_id, first_seq, row_count, min_ts, max_ts) VALUES (?, ?, ?, ?, ?)"
        )
        for (routeId, r) in routes {
            try route.execute(arguments: [routeId, firstSeq, r.count, r.minTs, r.maxTs])
        }
        try db.cachedStatement(sql: "INSERT INTO request_log_chunk_ids (first_seq, min_key, max_key) VALUES (?, ?, ?)")
            .execute(arguments: [firstSeq, Self.rtreeCoordinate(minKey), Self.rtreeCoordinate(maxKey)])
    }

    // MARK: - Encoding

    private func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A text, against the previous row's (nil for the chunk's first row, or when that row's was NULL).
    private func text(_ value: String?, _ previous: String?) {
        guard let value else { return bytes.append(0) }
        // Bytes, not `==`: two strings of different bytes can be equal as Swift strings.
        if let previous, value.utf8.elementsEqual(previous.utf8) { return bytes.append(1) }
        varint(UInt64(value.utf8.count) + 2)
        bytes.append(contentsOf: value.utf8)
    }

    /// An integer's tag, against the previous row's tag (nil for the chunk's first row).
    private func int(_ tag: UInt64, _ previous: UInt64?) {
        guard tag != 0 else { return bytes.append(0) }
        if let previous, previous == tag { return bytes.append(1) }
        varint(tag)
    }

    /// 0 for nil, else the zigzag value + 2, wrapping.
    private static func tag(_ value: Int64?) -> UInt64 {
        guard let value else { return 0 }
        return zigzag(value) &+ 2
    }

    private static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    // MARK: - Index keys

    /// Where a request id's time places it (milliseconds; 0 for an id that is not a version 7 `req_` id).
    private static func idKey(_ b: [UInt8]) -> Int64 {
        guard b.count >= 19, b[0] == UInt8(ascii: "r"), b[1] == UInt8(ascii: "e"), b[2] == UInt8(ascii: "q"),
            b[3] == UInt8(ascii: "_"), b[12] == UInt8(ascii: "-"), b[17] == UInt8(ascii: "-"),
            b[18] == UInt8(ascii: "7")
        else { return 0 }
        var key: Int64 = 0
        for i in 4..<17 where i != 12 {
            guard let digit = hexValue(b[i]) else { return 0 }
            key = key << 4 | Int64(digit)
        }
        return key
    }

    /// The R-tree coordinate of an id key: whole seconds since 2020-01-01, clamped to 32 bits.
    private static func rtreeCoordinate(_ key: Int64) -> Int64 {
        min(max(key / 1000 - 1_577_836_800, Int64(Int32.min)), Int64(Int32.max))
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
