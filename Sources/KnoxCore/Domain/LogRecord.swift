#if canImport(Glibc)
    import Glibc
#endif

/// One request-log row as bytes: what the data plane hands the log writer, in place of a `RequestLogEntry`.
///
/// A row as a struct of strings cost the event loop an allocation for each string it built (the path, the headers'
/// text) and ~40 reference-count operations to move the row into the sink; the writer then retained and released
/// every string again while encoding, and freed them all. A record is one allocation, written once and read in place.
///
/// Layout: the fields of `RequestLogEntry` but `seq`, in `LogRecord.Field` order. A text is an unsigned LEB128 varint,
/// 0 for nil or its UTF-8 length + 2, then its bytes; an integer (optional or not) is 0 for nil or its zigzag value + 2.
/// The memory belongs to whoever holds the record (the sink, then the writer), who frees it once with `release()`.
public struct LogRecord: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let count: Int

    /// A record of `count` bytes at `base`, memory from `UnsafeMutableRawPointer.allocate`, which it takes over.
    @inlinable
    public init(base: UnsafeMutableRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    /// The fields in their order in the record.
    public enum Field: Int, CaseIterable, Sendable {
        case requestId, routeId, ts, srcIp, method, path, statusCode, latencyMs, upstreamLatencyMs, upstreamHost
        case upstreamStatus, error, environment, rateLimited, signatureValid, matchedClientId, identificationMethod
        case apiKeyId, proxyMode, clientOrigin, requestHeaders

        /// Whether the field is an integer (else a text).
        public var isInteger: Bool {
            switch self {
            case .ts, .statusCode, .latencyMs, .upstreamLatencyMs, .upstreamStatus, .rateLimited, .signatureValid: true
            default: false
            }
        }

        /// Whether a row must have the field (`RequestLogEntry`'s non-optional fields).
        public var isRequired: Bool {
            switch self {
            case .requestId, .ts, .method, .path, .rateLimited, .proxyMode, .clientOrigin: true
            default: false
            }
        }
    }

    public static let fieldCount = Field.allCases.count

    /// Bit `i` set when field `i` is an integer.
    public static let integerFields = mask(\.isInteger)
    /// Bit `i` set when field `i` is required.
    static let requiredFields = mask(\.isRequired)

    private static func mask(_ test: (Field) -> Bool) -> UInt32 {
        Field.allCases.reduce(0) { test($1) ? $0 | 1 << UInt32($1.rawValue) : $0 }
    }

    /// Frees the record's memory. Called once, by its last holder.
    public func release() { base.deallocate() }

    /// The bytes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// One field of a parsed record: `tag` 0 is nil; a text's bytes are `start` and `count`; an integer is `value`.
public struct LogRecordField {
    public var tag: UInt64 = 0
    public var start: UnsafeRawPointer?
    public var count = 0

    public init() {}

    public var isNil: Bool { tag == 0 }
    /// The integer (for an integer field that is not nil).
    public var value: Int64 { LogRecord.unzigzag(tag &- 2) }
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }
    /// The text (for a text field), nil when the field is nil.
    public var text: String? { isNil ? nil : String(decoding: bytes, as: UTF8.self) }

    /// Whether both are texts with the same bytes (nil is never the same as anything).
    @inline(__always)
    public func sameText(as other: LogRecordField) -> Bool {
        guard tag != 0, other.tag != 0, count == other.count else { return false }
        return count == 0 || start == other.start || memcmp(start!, other.start!, count) == 0
    }
}

extension LogRecord {
    /// Reads the record into `fields` (room for `fieldCount`); false when the bytes are not a whole record, or a
    /// required field is nil.
    public func parse(into fields: UnsafeMutablePointer<LogRecordField>) -> Bool {
        var position = 0
        for i in 0..<Self.fieldCount {
            guard let tag = varint(&position), tag != 0 || Self.requiredFields >> UInt32(i) & 1 == 0 else {
                return false
            }
            fields[i].tag = tag
            fields[i].start = nil
            fields[i].count = 0
            guard tag >= 2, Self.integerFields >> UInt32(i) & 1 == 0 else { continue }
            let length = tag - 2
            guard length <= UInt64(count - position) else { return false }
            fields[i].start = UnsafeRawPointer(base + position)
            fields[i].count = Int(length)
            position += Int(length)
        }
        return position == count
    }

    private func varint(_ position: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < count, shift < 64 {
            let b = base.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    @inlinable
    public static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    public static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))) }

    /// The record of `entry` (its `seq` is not kept).
    public init(_ e: RequestLogEntry) {
        self = Self.make(
            capacity: 160 + e.path.utf8.count + (e.requestHeaders?.utf8.count ?? 0), requestId: e.requestId,
            routeId: e.routeId, ts: e.ts, srcIp: e.srcIp, method: e.method, path: e.path, statusCode: e.statusCode,
            latencyMs: e.latencyMs, upstreamLatencyMs: e.upstreamLatencyMs, upstreamHost: e.upstreamHost,
            upstreamStatus: e.upstreamStatus, error: e.error, environment: e.environment, rateLimited: e.rateLimited,
            signatureValid: e.signatureValid, matchedClientId: e.matchedClientId,
            identificationMethod: e.identificationMethod, apiKeyId: e.apiKeyId, proxyMode: e.proxyMode,
            clientOrigin: e.clientOrigin
        ) { $0.text(e.requestHeaders) }
    }

    /// A record of these fields (those of `RequestLogEntry`, in their order in the record); `requestHeaders` writes
    /// the last field, the headers' text, into the builder (`text(bound:_:)` writes it in place). `capacity` is a
    /// first guess of the size.
    @inlinable
    public static func make<Path: StringProtocol>(
        capacity: Int, requestId: String, routeId: String?, ts: Int64, srcIp: String?, method: String, path: Path,
        statusCode: Int?, latencyMs: Int?, upstreamLatencyMs: Int?, upstreamHost: String?, upstreamStatus: Int?,
        error: String?, environment: String?, rateLimited: Bool, signatureValid: Bool?, matchedClientId: String?,
        identificationMethod: String?, apiKeyId: String?, proxyMode: String, clientOrigin: String,
        requestHeaders: (inout LogRecordBuilder) -> Void
    ) -> LogRecord {
        var b = LogRecordBuilder(capacity: capacity)
        b.text(requestId)
        b.text(routeId)
        b.int(ts)
        b.text(srcIp)
        b.text(method)
        b.text(path)
        b.int(statusCode)
        b.int(latencyMs)
        b.int(upstreamLatencyMs)
        b.text(upstreamHost)
        b.int(upstreamStatus)
        b.text(error)
        b.text(environment)
        b.int(Int64(rateLimited ? 1 : 0))
        b.int(signatureValid.map { $0 ? 1 : 0 })
        b.text(matchedClientId)
        b.text(identificationMethod)
        b.text(apiKeyId)
        b.text(proxyMode)
        b.text(clientOrigin)
        requestHeaders(&b)
        return b.finish()
    }

    /// The row, numbered `seq`; nil when the bytes are not a whole record.
    public func entry(seq: Int64) -> RequestLogEntry? {
        withUnsafeTemporaryAllocation(of: LogRecordField.self, capacity: Self.fieldCount) { buffer in
            let f = buffer.baseAddress!
            f.initialize(repeating: LogRecordField(), count: Self.fieldCount)
            guard parse(into: f) else { return nil }
            func text(_ field: Field) -> String? { f[field.rawValue].text }
            func int(_ field: Field) -> Int? { f[field.rawValue].isNil ? nil : Int(f[field.rawValue].value) }
            // `parse` refused a record without a required field: those unwrap.
            return RequestLogEntry(
                seq: seq, requestId: text(.requestId)!, routeId: text(.routeId), ts: f[Field.ts.rawValue].value,
                srcIp: text(.srcIp), method: text(.method)!, path: text(.path)!, statusCode: int(.statusCode),
                latencyMs: int(.latencyMs),
                upstreamLatencyMs: int(.upstreamLatencyMs), upstreamHost: text(.upstreamHost),
                upstreamStatus: int(.upstreamStatus), error: text(.error), environment: text(.environment),
                rateLimited: int(.rateLimited) == 1, signatureValid: int(.signatureValid).map { $0 == 1 },
                matchedClientId: text(.matchedClientId), identificationMethod: text(.identificationMethod),
                apiKeyId: text(.apiKeyId), proxyMode: text(.proxyMode)!, clientOrigin: text(.clientOrigin)!,
                requestHeaders: text(.requestHeaders))
        }
    }
}

/// Writes a `LogRecord`, field by field in `LogRecord.Field` order. The memory grows when the first guess is short.
/// Inlinable: the event loop writes a record per request, and across the module boundary each call would go through
/// `StringProtocol`'s witnesses.
public struct LogRecordBuilder {
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    @usableFromInline var count = 0
    #if DEBUG
        @usableFromInline var fields = 0
    #endif

    @inlinable
    public init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 1)
    }

    @inlinable
    mutating func reserve(_ n: Int) {
        guard count + n > capacity else { return }
        grow(n)
    }

    @usableFromInline
    mutating func grow(_ n: Int) {
        let grown = max(capacity * 2, count + n)
        let moved = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 1)
        moved.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = moved
        capacity = grown
    }

    @inlinable
    mutating func varint(_ value: UInt64) {
        reserve(10)
        var v = value
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: count, as: UInt8.self)
            count += 1
            v >>= 7
        }
        base.storeBytes(of: UInt8(v), toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inlinable
    mutating func counted() {
        #if DEBUG
            fields += 1
        #endif
    }

    @inlinable
    public mutating func int(_ value: Int64?) {
        counted()
        guard let value else { return varint(0) }
        varint(LogRecord.zigzag(value) &+ 2)
    }

    @inlinable
    public mutating func int(_ value: Int?) { int(value.map(Int64.init)) }

    @inlinable
    public mutating func text(_ bytes: UnsafeRawBufferPointer) {
        counted()
        varint(UInt64(bytes.count) + 2)
        reserve(bytes.count)
        if let source = bytes.baseAddress { (base + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
    }

    @inlinable
    public mutating func text<S: StringProtocol>(_ value: S?) {
        guard let value else {
            counted()
            return varint(0)
        }
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { text(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(value.utf8).withUnsafeBytes { text($0) } }
    }

    /// A text of at most `bound` bytes that `write` puts straight into the record, returning how many it wrote.
    @inlinable
    public mutating func text(bound: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int) {
        counted()
        // The length is written as a three-byte varint (room for 2 MiB), before the text is: LEB128 allows the
        // padded form, and readers take it as any other.
        let bound = min(bound, 1 << 21 - 3)
        reserve(3 + bound)
        let written = write(UnsafeMutableRawBufferPointer(start: base + count + 3, count: bound))
        precondition(written >= 0 && written <= bound, "log record text overran its bound")
        let tag = UInt64(written) + 2
        base.storeBytes(of: UInt8(truncatingIfNeeded: tag) | 0x80, toByteOffset: count, as: UInt8.self)
        base.storeBytes(of: UInt8(truncatingIfNeeded: tag >> 7) | 0x80, toByteOffset: count + 1, as: UInt8.self)
        base.storeBytes(of: UInt8(truncatingIfNeeded: tag >> 14), toByteOffset: count + 2, as: UInt8.self)
        count += 3 + written
    }

    /// The record; the builder must not be used again.
    @inlinable
    public consuming func finish() -> LogRecord {
        #if DEBUG
            assert(fields == LogRecord.fieldCount, "a log record needs \(LogRecord.fieldCount) fields, got \(fields)")
        #endif
        return LogRecord(base: base, count: count)
    }
}
