#if canImport(Glibc)
import Glibc
#endif
import KnoxCore

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

    private static func idKey(bytes b: UnsafeBufferPointer<UInt8>) -> Int64 {
        guard b.count >= 19, b[0] == UInt8(ascii: "r"), b[1] == UInt8(ascii: "e"), b[2] == UInt8(ascii: "q"),
            b[3] == UInt8(ascii: "_"), b[12] == UInt8(ascii: "-"), b[17] == UInt8(ascii: "-"), b[18] == UInt8(ascii: "7")
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
/// raw memory (an array's append checked its uniqueness on every byte: 7% of the writer's samples).
final class LogChunkEncoder {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private(set) var summary = LogChunkSummary()
    private var previousSeq: Int64 = 0
    // The route of the current run of rows, summed before it is merged into `summary.routes` (rows come in runs
    // of one route, so most rows cost a comparison, not a hash).
    private var runRoute: String?
    private var runCount = 0
    private var runMinTs = Int64.max
    private var runMaxTs = Int64.min

    init() {
        capacity = RequestLogChunk.maxRows * 128
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    /// The chunk's bytes so far; valid until the next call that changes the encoder.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Starts a new chunk.
    func reset() {
        count = 0
        summary = LogChunkSummary()
        runRoute = nil
        runCount = 0
        runMinTs = .max
        runMaxTs = .min
    }

    /// Appends `rows[i]` as the row numbered `seq` (above the chunk's previous row's). The rows of one chunk are
    /// consecutive elements of one buffer: each is compared with the one before it in place, without copying either.
    func append(_ rows: UnsafeBufferPointer<RequestLogEntry>, _ i: Int, seq: Int64) {
        let first = summary.rowCount == 0
        if first {
            summary.firstSeq = seq
            previousSeq = seq - 1
        }
        let e = rows.baseAddress! + i
        let p: UnsafePointer<RequestLogEntry>? = first ? nil : e - 1
        let ts = e.pointee.ts
        summary.rowCount += 1
        summary.lastSeq = seq
        summary.minTs = min(summary.minTs, ts)
        summary.maxTs = max(summary.maxTs, ts)
        let key = RequestLogChunk.idKey(e.pointee.requestId)
        summary.minKey = min(summary.minKey, key)
        summary.maxKey = max(summary.maxKey, key)
        countRoute(e.pointee.routeId, ts: ts)

        reserve(64)
        varint(UInt64(seq - previousSeq))
        previousSeq = seq
        text(e.pointee.requestId, p?.pointee.requestId)
        text(e.pointee.routeId, p?.pointee.routeId)
        reserve(16)
        varint(zigzag(ts &- (p?.pointee.ts ?? 0)))
        text(e.pointee.srcIp, p?.pointee.srcIp)
        text(e.pointee.method, p?.pointee.method)
        text(e.pointee.path, p?.pointee.path)
        reserve(64)
        int(e.pointee.statusCode.map(Int64.init), p?.pointee.statusCode.map(Int64.init))
        int(e.pointee.latencyMs.map(Int64.init), p?.pointee.latencyMs.map(Int64.init))
        int(e.pointee.upstreamLatencyMs.map(Int64.init), p?.pointee.upstreamLatencyMs.map(Int64.init))
        text(e.pointee.upstreamHost, p?.pointee.upstreamHost)
        reserve(16)
        int(e.pointee.upstreamStatus.map(Int64.init), p?.pointee.upstreamStatus.map(Int64.init))
        text(e.pointee.error, p?.pointee.error)
        text(e.pointee.environment, p?.pointee.environment)
        reserve(32)
        int(e.pointee.rateLimited ? 1 : 0, p.map { $0.pointee.rateLimited ? 1 : 0 })
        int(e.pointee.signatureValid.map { $0 ? 1 : 0 }, p?.pointee.signatureValid.map { $0 ? 1 : 0 })
        text(e.pointee.matchedClientId, p?.pointee.matchedClientId)
        text(e.pointee.identificationMethod, p?.pointee.identificationMethod)
        text(e.pointee.apiKeyId, p?.pointee.apiKeyId)
        text(e.pointee.proxyMode, p?.pointee.proxyMode)
        text(e.pointee.clientOrigin, p?.pointee.clientOrigin)
        text(e.pointee.requestHeaders, p?.pointee.requestHeaders)
    }

    /// Appends every row of `rows`, numbered by their own `seq` (rows read back and written again).
    func append(keeping rows: [RequestLogEntry]) {
        rows.withUnsafeBufferPointer { buffer in
            for i in buffer.indices { append(buffer, i, seq: buffer[i].seq) }
        }
    }

    /// Ends the chunk: merges the last run of routes into the summary.
    func finish() {
        closeRun()
    }

    private func countRoute(_ route: String?, ts: Int64) {
        // Route ids are ASCII identifiers; bytes are compared all the same, as everywhere in the chunk.
        if !Self.sameOptional(route, runRoute) { closeRun() }
        guard let route else { return }
        if runRoute == nil { runRoute = route }
        runCount += 1
        runMinTs = min(runMinTs, ts)
        runMaxTs = max(runMaxTs, ts)
    }

    private func closeRun() {
        if let route = runRoute, runCount > 0 {
            let merged = summary.routes[route].map {
                (count: $0.count + runCount, minTs: min($0.minTs, runMinTs), maxTs: max($0.maxTs, runMaxTs))
            }
            summary.routes[route] = merged ?? (count: runCount, minTs: runMinTs, maxTs: runMaxTs)
        }
        runRoute = nil
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

    private func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    private func text(_ value: String?, _ previous: String?) {
        reserve(1)
        guard let value else { return tag(0) }
        if let previous, Self.sameBytes(previous, value) { return tag(1) }
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { utf8 in bytes(utf8) }
        if done == nil { Array(value.utf8).withUnsafeBufferPointer { bytes($0) } }
    }

    private func tag(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    private func bytes(_ utf8: UnsafeBufferPointer<UInt8>) {
        reserve(utf8.count + 10)
        varint(UInt64(utf8.count) + 2)
        if let source = utf8.baseAddress { (base + count).update(from: source, count: utf8.count) }
        count += utf8.count
    }

    private static func sameOptional(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let x?, let y?): sameBytes(x, y)
        default: false
        }
    }

    /// Byte equality (`==` on strings is canonical equivalence: "é" precomposed equals "e" and a combining accent,
    /// and a row must read back with its own bytes). The same storage, as rows of one route share, is equal at once.
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        let compared = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                x.baseAddress == y.baseAddress || x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0
            }
        }
        return (compared ?? nil) ?? a.utf8.elementsEqual(b.utf8)
    }

    /// Writes an optional integer; room for it was reserved.
    private func int(_ value: Int64?, _ previous: Int64?) {
        guard let value else { return tag(0) }
        if let previous, previous == value { return tag(1) }
        varint(zigzag(value) &+ 2)
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
        let ts = (p?.ts ?? 0) &+ unzigzag(try varint())
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

    private func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))) }

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
        default: return unzigzag(tag - 2)
        }
    }
}
