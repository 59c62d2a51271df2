import NIOCore

/// Where one header field lies in its head's bytes: offsets from the head's first byte, name and value already
/// trimmed (the value has no leading or trailing whitespace).
struct FieldSpan: Sendable, Equatable {
    var nameStart: Int32
    var nameEnd: Int32
    var valueStart: Int32
    var valueEnd: Int32

    var nameCount: Int { Int(nameEnd - nameStart) }
    var valueCount: Int { Int(valueEnd - valueStart) }
}

/// The header fields of one parsed head, kept as the bytes that arrived and the place of each field in them.
/// Nothing is copied out unless asked for: the data plane forwards most headers byte for byte, so a request costs
/// no `String` per header.
struct HeaderFields: Sendable {
    /// The whole head, from its first line to its blank line (offsets in `spans` count from its first readable byte).
    let bytes: ByteBuffer
    let spans: [FieldSpan]

    var count: Int { spans.count }

    /// Runs `body` over the head's bytes.
    @inline(__always)
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try bytes.withUnsafeReadableBytes(body)
    }

    /// Field `i`'s name, as it was sent.
    func name(_ i: Int) -> String {
        let s = spans[i]
        return withBytes {
            String(decoding: UnsafeRawBufferPointer(rebasing: $0[Int(s.nameStart)..<Int(s.nameEnd)]), as: UTF8.self)
        }
    }

    /// Field `i`'s value, as it was sent (trimmed).
    func value(_ i: Int) -> String {
        let s = spans[i]
        return withBytes { Wire.text($0, s.valueStart, s.valueEnd) }
    }

    /// Whether field `i` is named `lower` (a lowercase ASCII name), in any case.
    func isNamed(_ i: Int, _ lower: StaticString) -> Bool {
        let s = spans[i]
        return withBytes { Wire.equalsFolded($0, Int(s.nameStart), Int(s.nameEnd), lower) }
    }

    /// The value of the first field named `lower`, if any.
    func first(_ lower: StaticString) -> String? {
        for i in 0..<spans.count where isNamed(i, lower) { return value(i) }
        return nil
    }

    /// Every field as text, in order (tests and diagnostics; the request path never needs this).
    var pairs: [(name: String, value: String)] { (0..<spans.count).map { (name($0), value($0)) } }
}

/// Byte-level helpers shared by the parsers and the writers.
enum Wire {
    @inline(__always)
    static func folded(_ x: UInt8) -> UInt8 { (x >= 65 && x <= 90) ? x | 0x20 : x }

    /// `bytes[start..<end]` equals `lower` (lowercase ASCII) once A-Z are folded.
    @inline(__always)
    static func equalsFolded(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ lower: StaticString) -> Bool {
        guard end - start == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { l in
            for i in 0..<l.count where folded(bytes[start + i]) != l[i] { return false }
            return true
        }
    }

    /// `bytes[start..<end]` starts with `lower` once A-Z are folded.
    @inline(__always)
    static func hasFoldedPrefix(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ lower: StaticString)
        -> Bool
    {
        guard end - start >= lower.utf8CodeUnitCount else { return false }
        return equalsFolded(bytes, start, start + lower.utf8CodeUnitCount, lower)
    }

    /// `bytes[start..<end]` as text (the parsers admit only ASCII and obs-text there; invalid UTF-8 is repaired).
    @inline(__always)
    static func text(_ bytes: UnsafeRawBufferPointer, _ start: Int32, _ end: Int32) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[Int(start)..<Int(end)]), as: UTF8.self)
    }

    /// Calls `body` with the bounds of each non-empty, trimmed element of a comma-separated list.
    @inline(__always)
    static func forEachToken(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ body: (Int, Int) -> Void) {
        var cursor = start
        while cursor <= end {
            var stop = cursor
            while stop < end && bytes[stop] != UInt8(ascii: ",") { stop += 1 }
            var a = cursor
            var b = stop
            while a < b && (bytes[a] == 32 || bytes[a] == 9) { a += 1 }
            while b > a && (bytes[b - 1] == 32 || bytes[b - 1] == 9) { b -= 1 }
            if a < b { body(a, b) }
            cursor = stop + 1
        }
    }

    /// Writes `value` in decimal without building a `String`.
    @inline(__always)
    static func writeDecimal(_ value: Int, into out: inout ByteBuffer) {
        out.writeRaw(capacity: 24) { $0.decimal(value) }
    }
}
