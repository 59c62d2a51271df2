import KnoxCore
import KnoxDataPlane
import NIOCore

/// Which headers cross the proxy, in each direction. The rules work on the bytes of a received head (`p[a..<b]`);
/// the `String` forms serve configuration values and tests, and go through the same byte rules.
enum HeaderRules {
    /// Hop-by-hop headers (RFC 9110 §7.6.1) and framing headers the proxy sets itself.
    static let hopByHop: [String] = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length", "host", "expect",
    ]

    // MARK: - Names

    /// ASCII case-insensitive equality against a lowercase name, without allocating.
    @inline(__always)
    static func same(_ name: String, _ lower: String) -> Bool {
        guard name.utf8.count == lower.utf8.count else { return false }
        return zip(name.utf8, lower.utf8).allSatisfy { x, y in Wire.folded(x) == y }
    }

    /// Whether `p[a..<b]` names a header in `hopByHop`. Every header of every request and answer passes here, so the
    /// length picks the candidates before any byte is compared.
    @inline(__always)
    static func isHopByHop(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        func named(_ lower: StaticString) -> Bool { Wire.equalsFolded(p, a, b, lower) }
        switch b - a {
        case 2: return named("te")
        case 4: return named("host")
        case 6: return named("expect")
        case 7: return named("upgrade") || named("trailer")
        case 10: return named("connection") || named("keep-alive")
        case 14: return named("content-length")
        case 16: return named("proxy-connection")
        case 17: return named("transfer-encoding")
        case 18: return named("proxy-authenticate")
        case 19: return named("proxy-authorization")
        default: return false
        }
    }

    static func isHopByHop(_ name: String) -> Bool { withBytes(name) { isHopByHop($0, 0, $0.count) } }

    /// Whether `p[a..<b]` starts with `x-knoxcall-` (any case) and names something after it.
    @inline(__always)
    static func isKnoxcallHeader(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        b - a > 11 && Wire.hasFoldedPrefix(p, a, b, "x-knoxcall-")
    }

    static func isKnoxcallHeader(_ name: String) -> Bool { withBytes(name) { isKnoxcallHeader($0, 0, $0.count) } }

    /// Whether a `Connection` value names headers (anything besides `keep-alive` and `close`), which then become
    /// hop-by-hop too. The usual `keep-alive` costs no list of tokens.
    static func connectionNamesHeaders(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        var names = false
        Wire.forEachToken(p, a, b) { x, y in
            if !Wire.equalsFolded(p, x, y, "keep-alive") && !Wire.equalsFolded(p, x, y, "close") { names = true }
        }
        return names
    }

    static func connectionNamesHeaders(_ value: String) -> Bool {
        withBytes(value) { connectionNamesHeaders($0, 0, $0.count) }
    }

    /// The header names a head's `Connection` fields list (lowercased), which are hop-by-hop too. Empty, and nothing
    /// allocated, when the only tokens are `keep-alive` and `close`: the usual case.
    static func connectionNamed(_ fields: HeaderFields) -> [String] {
        fields.withBytes { p in
            var named: [String] = []
            for span in fields.spans
            where span.nameCount == 10 && Wire.equalsFolded(p, Int(span.nameStart), Int(span.nameEnd), "connection") {
                Wire.forEachToken(p, Int(span.valueStart), Int(span.valueEnd)) { x, y in
                    if !Wire.equalsFolded(p, x, y, "keep-alive") && !Wire.equalsFolded(p, x, y, "close") {
                        named.append(Wire.text(p, Int32(x), Int32(y)).lowercased())
                    }
                }
            }
            return named
        }
    }

    /// Whether `p[a..<b]` is one of `lowercased` names.
    @inline(__always)
    static func isAny(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, of lowercased: some Sequence<String>) -> Bool {
        lowercased.contains { isNamed(p, a, b, $0) }
    }

    /// Whether `p[a..<b]` is `lowercased` in any case.
    @inline(__always)
    static func isNamed(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, _ lowercased: String) -> Bool {
        guard lowercased.utf8.count == b - a else { return false }
        var i = a
        for byte in lowercased.utf8 {
            if Wire.folded(p[i]) != byte { return false }
            i += 1
        }
        return true
    }

    @inline(__always)
    static func withBytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var text = text
        return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}
