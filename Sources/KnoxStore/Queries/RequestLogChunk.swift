import KnoxCore

#if canImport(Glibc)
    import Glibc
#endif

/// The request log's storage format: rows packed into chunks, one SQLite row (a blob) per chunk instead of one
/// B-tree row and two index entries per request.
///
/// A chunk's blob is its rows one after another, each field in a fixed order. Unsigned LEB128 varints throughout:
/// - the row's `seq` as its distance from the previous row's (the first row's from the chunk's `first_seq - 1`);
/// - `ts` as a zigzag distance from the previous row's (the first row's from 0);
/// - a text as 0 (NULL), 1 (the same as this field in the previous row), or its UTF-8 length + 2 and its bytes;
/// - an optional integer as 0 (NULL), 1 (the same as in the previous row), or its zigzag value + 2.
/// Consecutive rows mostly share a route, key, method, environment and so on, so most fields take one byte.
enum RequestLogChunk {
    /// Most rows per chunk: what a request-id lookup or a feed page decodes at most per chunk it touches.
    static let maxRows = 1024

    /// Where a request id's time places it (milliseconds; 0 for an id that is not a version 7 `req_` id). The
    /// chunk index stores each chunk's range of these, so a lookup by id touches only the chunks whose range covers it.
    static func idKey(_ requestId: String) -> Int64 {
        requestId.utf8.withContiguousStorageIfAvailable(idKey(bytes:))
            ?? Array(requestId.utf8).withUnsafeBufferPointer(idKey(bytes:))
    }

    static func idKey(bytes raw: UnsafeRawBufferPointer) -> Int64 {
        idKey(bytes: raw.assumingMemoryBound(to: UInt8.self))
    }

    private static func idKey(bytes b: UnsafeBufferPointer<UInt8>) -> Int64 {
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

    /// The R-tree coordinate of an id key: whole seconds since 2020-01-01, clamped to 32 bits (`rtree_i32`; exact
    /// integers, good until 2088).
    static func rtreeCoordinate(_ key: Int64) -> Int64 {
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

/// What the chunk index records of one chunk, besides its blob.
struct LogChunkSummary {
    var firstSeq: Int64 = 0
    var lastSeq: Int64 = 0
    var rowCount = 0
    var minTs = Int64.max
    var maxTs = Int64.min
    var minKey = Int64.max
    var maxKey = Int64.min
    /// Per route: rows, and their earliest and latest `ts`.
    var routes: [String: (count: Int, minTs: Int64, maxTs: Int64)] = [:]
}

/// Packs rows into a chunk blob (see `RequestLogChunk`). One encoder is reused from chunk to chunk; its buffer is
/// raw memory (an array's append checked its uniqueness on every byte: 7% of the writer's samples). Rows come as
/// `LogRecord`s and are read in place: each field is compared with the previous row's bytes, and no string is made
/// but a route's name, once per run of rows of one route.
final class LogChunkEncoder {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private(set) var summary = LogChunkSummary()
    private var previousSeq: Int64 = 0
    // The fields of the row being appended and of the one before it (which point into that row's record, alive
    // until the chunk is written).
    private var current: UnsafeMutablePointer<LogRecordField>
    private var previous: UnsafeMutablePointer<LogRecordField>
    // Records the encoder made itself (from `RequestLogEntry`s), freed when the next chunk starts.
    private var owned: [LogRecord] = []
    // The route of the current run of rows, summed before it is merged into `summary.routes` (rows come in runs
    // of one route, so most rows cost a comparison, not a hash).
    private var runRoute = LogRecordField()
    private var runCount = 0
    private var runMinTs = Int64.max
    private var runMaxTs = Int64.min

    init() {
        capacity = RequestLogChunk.maxRows * 128
        base = .allocate(capacity: capacity)
        current = .allocate(capacity: LogRecord.fieldCount)
        current.initialize(repeating: LogRecordField(), count: LogRecord.fieldCount)
        previous = .allocate(capacity: LogRecord.fieldCount)
        previous.initialize(repeating: LogRecordField(), count: LogRecord.fieldCount)
    }

    deinit {
        base.deallocate()
        current.deallocate()
        previous.deallocate()
        for record in owned { record.release() }
    }

    /// The chunk's bytes so far; valid until the next call that changes the encoder.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Starts a new chunk.
    func reset() {
        count = 0
        summary = LogChunkSummary()
        runRoute = LogRecordField()
        runCount = 0
        runMinTs = .max
        runMaxTs = .min
        for record in owned { record.release() }
        owned.removeAll(keepingCapacity: true)
    }

    /// Appends `record` as the row numbered `seq` (above the chunk's previous row's); false, and nothing appended,
    /// when its bytes are not a whole record with every required field (`LogRecord.parse`). The record must stay
    /// alive until the chunk is written.
    func append(_ record: LogRecord, seq: Int64) -> Bool {
        typealias F = LogRecord.Field
        let e = current
        guard record.parse(into: e) else { return false }
        let first = summary.rowCount == 0
        if first {
            summary.firstSeq = seq
            previousSeq = seq - 1
        }
        let p: UnsafeMutablePointer<LogRecordField>? = first ? nil : previous
        let ts = e[F.ts.rawValue].value
        summary.rowCount += 1
        summary.lastSeq = seq
        summary.minTs = min(summary.minTs, ts)
        summary.maxTs = max(summary.maxTs, ts)
        let key = RequestLogChunk.idKey(bytes: e[F.requestId.rawValue].bytes)
        summary.minKey = min(summary.minKey, key)
        summary.maxKey = max(summary.maxKey, key)
        countRoute(e[F.routeId.rawValue], ts: ts)

        reserve(64)
        varint(UInt64(seq - previousSeq))
        previousSeq = seq
        for i in 0..<LogRecord.fieldCount {
            if i == F.ts.rawValue {
                reserve(10)
                varint(LogRecord.zigzag(ts &- (p.map { $0[i].value } ?? 0)))
            } else if LogRecord.integerFields >> UInt32(i) & 1 == 1 {
                reserve(10)
                int(e[i], p?[i])
            } else {
                text(e[i], p?[i])
            }
        }
        swap(&current, &previous)
        return true
    }

    /// The fields of the row appended last, as `LogRecord.parse` read them; valid until the next `append` or `reset`
    /// (the texts point into the record, which outlives that).
    var lastRowFields: UnsafePointer<LogRecordField> { UnsafePointer(previous) }

    /// Appends every row of `rows`, numbered by their own `seq` (rows read back and written again).
    func append(keeping rows: [RequestLogEntry]) {
        for row in rows {
            let record = LogRecord(row)
            owned.append(record)
            _ = append(record, seq: row.seq)
        }
    }

    /// Ends the chunk: merges the last run of routes into the summary.
    func finish() {
        closeRun()
    }

    private func countRoute(_ route: LogRecordField, ts: Int64) {
        // Route ids are ASCII identifiers; bytes are compared all the same, as everywhere in the chunk.
        if !(route.isNil && runRoute.isNil) && !route.sameText(as: runRoute) { closeRun() }
        guard !route.isNil else { return }
        if runRoute.isNil { runRoute = route }
        runCount += 1
        runMinTs = min(runMinTs, ts)
        runMaxTs = max(runMaxTs, ts)
    }

    private func closeRun() {
        if let route = runRoute.text, runCount > 0 {
            let merged = summary.routes[route].map {
                (count: $0.count + runCount, minTs: min($0.minTs, runMinTs), maxTs: max($0.maxTs, runMaxTs))
            }
            summary.routes[route] = merged ?? (count: runCount, minTs: runMinTs, maxTs: runMaxTs)
        }
        runRoute = LogRecordField()
        runCount = 0
        runMinTs = .max
        runMaxTs = .min
    }

    /// Makes room for `extra` more bytes.
    private func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        let grown = max(capacity * 2, count + extra)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = grown
    }

    /// Writes `value`; room for its up to 10 bytes was reserved.
    private func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            base[count] = UInt8(truncatingIfNeeded: v) | 0x80
            count += 1
            v >>= 7
        }
        base[count] = UInt8(v)
        count += 1
    }

    private func text(_ value: LogRecordField, _ previous: LogRecordField?) {
        reserve(1)
        guard !value.isNil else { return tag(0) }
        if let previous, value.sameText(as: previous) { return tag(1) }
        reserve(value.count + 10)
        varint(UInt64(value.count) + 2)
        if let source = value.start {
            (base + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: value.count)
        }
        count += value.count
    }

    private func tag(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    /// Writes an optional integer (its record tag is its chunk tag: 0 for nil, else the zigzag value + 2); room for
    /// it was reserved.
    private func int(_ value: LogRecordField, _ previous: LogRecordField?) {
        guard !value.isNil else { return tag(0) }
        if let previous, previous.tag == value.tag { return tag(1) }
        varint(value.tag)
    }
}

/// Why a chunk could not be read: its blob is not what `LogChunkEncoder` writes.
struct LogChunkCorrupt: Error, CustomStringConvertible {
    let firstSeq: Int64
    var description: String { "request log chunk \(firstSeq) is malformed" }
}

/// Reads a chunk blob back into rows.
struct LogChunkDecoder {
    private let bytes: [UInt8]
    private let firstSeq: Int64
    private var position = 0
    private var previous: RequestLogEntry?
    private var previousSeq: Int64

    init(bytes: [UInt8], firstSeq: Int64) {
        self.bytes = bytes
        self.firstSeq = firstSeq
        self.previousSeq = firstSeq - 1
    }

    /// Every row of the chunk, in order.
    static func rows(_ bytes: [UInt8], firstSeq: Int64) throws -> [RequestLogEntry] {
        var decoder = LogChunkDecoder(bytes: bytes, firstSeq: firstSeq)
        var rows: [RequestLogEntry] = []
        while let row = try decoder.next() { rows.append(row) }
        return rows
    }

    /// The next row, or nil at the end of the chunk.
    mutating func next() throws -> RequestLogEntry? {
        guard position < bytes.count else { return nil }
        // Row ids rise within a chunk; a delta that would overflow is a malformed blob, not a trap.
        guard let delta = Int64(exactly: try varint()), delta > 0,
            case (let seq, false) = previousSeq.addingReportingOverflow(delta)
        else { throw LogChunkCorrupt(firstSeq: firstSeq) }
        previousSeq = seq
        let p = previous
        guard let requestId = try text(p?.requestId) else { throw LogChunkCorrupt(firstSeq: firstSeq) }
        let routeId = try text(p?.routeId)
        let ts = (p?.ts ?? 0) &+ LogRecord.unzigzag(try varint())
        let srcIp = try text(p?.srcIp)
        guard let method = try text(p?.method), let path = try text(p?.path) else {
            throw LogChunkCorrupt(firstSeq: firstSeq)
        }
        let statusCode = try int(p?.statusCode.map(Int64.init))
        let latencyMs = try int(p?.latencyMs.map(Int64.init))
        let upstreamLatencyMs = try int(p?.upstreamLatencyMs.map(Int64.init))
        let upstreamHost = try text(p?.upstreamHost)
        let upstreamStatus = try int(p?.upstreamStatus.map(Int64.init))
        let error = try text(p?.error)
        let environment = try text(p?.environment)
        let rateLimited = try int(p.map { $0.rateLimited ? 1 : 0 })
        let signatureValid = try int(p?.signatureValid.map { $0 ? 1 : 0 })
        let matchedClientId = try text(p?.matchedClientId)
        let identificationMethod = try text(p?.identificationMethod)
        let apiKeyId = try text(p?.apiKeyId)
        guard let proxyMode = try text(p?.proxyMode), let clientOrigin = try text(p?.clientOrigin) else {
            throw LogChunkCorrupt(firstSeq: firstSeq)
        }
        let requestHeaders = try text(p?.requestHeaders)
        let row = RequestLogEntry(
            seq: seq, requestId: requestId, routeId: routeId, ts: ts, srcIp: srcIp, method: method, path: path,
            statusCode: statusCode.map { Int($0) }, latencyMs: latencyMs.map { Int($0) },
            upstreamLatencyMs: upstreamLatencyMs.map { Int($0) }, upstreamHost: upstreamHost,
            upstreamStatus: upstreamStatus.map { Int($0) }, error: error, environment: environment,
            rateLimited: rateLimited == 1, signatureValid: signatureValid.map { $0 == 1 },
            matchedClientId: matchedClientId, identificationMethod: identificationMethod, apiKeyId: apiKeyId,
            proxyMode: proxyMode, clientOrigin: clientOrigin, requestHeaders: requestHeaders)
        previous = row
        return row
    }

    private mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count, shift < 64 {
            let b = bytes[position]
            position += 1
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
        throw LogChunkCorrupt(firstSeq: firstSeq)
    }

    private mutating func text(_ previous: String?) throws -> String? {
        let tag = try varint()
        switch tag {
        case 0: return nil
        case 1:
            guard let previous else { throw LogChunkCorrupt(firstSeq: firstSeq) }
            return previous
        default:
            let length = tag - 2
            guard length <= UInt64(bytes.count - position) else { throw LogChunkCorrupt(firstSeq: firstSeq) }
            let end = position + Int(length)
            defer { position = end }
            return String(decoding: bytes[position..<end], as: UTF8.self)
        }
    }

    private mutating func int(_ previous: Int64?) throws -> Int64? {
        let tag = try varint()
        switch tag {
        case 0: return nil
        case 1:
            guard let previous else { throw LogChunkCorrupt(firstSeq: firstSeq) }
            return previous
        default: return LogRecord.unzigzag(tag - 2)
        }
    }
}
