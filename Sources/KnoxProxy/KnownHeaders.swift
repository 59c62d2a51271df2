import NIOCore

/// The request headers the data plane reads, found in one pass over the head (instead of one scan per name). Only
/// these become `String`s; every other header stays in the received bytes until it is copied upstream. A class: the
/// request's exchange, the gate's facts and the decoder's event share one instance (a struct of fourteen references cost
/// a retain and a release of each, ~80 a request, every time it was copied).
final class KnownHeaders {
    /// The `x-knoxcall-key` value stays in the received head (`withKeyBytes`): the connection's memo is compared
    /// with the bytes, so a keep-alive caller's key is made into a string only when the memo does not hold it.
    private var head: ByteBuffer?
    private var keyStart: Int32 = 0
    private var keyEnd: Int32 = 0
    var hasKey: Bool { head != nil }
    private(set) var authorization: String?
    private(set) var route: String?
    private(set) var environment: String?
    private(set) var timestamp: String?
    private(set) var signature: String?
    private(set) var contentType: String?
    private(set) var expect: String?
    private(set) var origin: String?
    private(set) var host: String?
    /// How many `Host` lines the head has (RFC 9112 §3.2: exactly one in HTTP/1.1, at most one in 1.0).
    private(set) var hostCount = 0
    /// A DPoP proof (RFC 9449).
    private(set) var dpop: String?
    /// Values of every `Content-Length` and `Transfer-Encoding` line (framing checks need them all).
    private(set) var contentLengths: [String] = []
    private(set) var transferEncodings: [String] = []
    private(set) var forwardedFor: [String] = []
    /// A `Connection` header names other headers (which are then not forwarded).
    private(set) var hasConnectionTokens = false
    /// How many KnoxCall gateways the request has passed already: the `Via` entries received by `knoxcall`.
    private(set) var knoxcallHops = 0

    init(_ fields: HeaderFields) {
        fields.withBytes { p in
            for span in fields.spans {
                let a = Int(span.nameStart)
                let b = Int(span.nameEnd)
                func named(_ lower: StaticString) -> Bool { Wire.equalsFolded(p, a, b, lower) }
                func value() -> String { Wire.text(p, span.valueStart, span.valueEnd) }
                switch b - a {
                case 4 where named("host"):
                    host = value()
                    hostCount += 1
                case 4 where named("dpop"): dpop = value()
                case 3 where named("via"): knoxcallHops += Self.knoxcallEntries(inVia: value())
                case 6 where named("expect"): expect = value()
                case 10 where named("connection"):
                    if HeaderRules.connectionNamesHeaders(p, Int(span.valueStart), Int(span.valueEnd)) {
                        hasConnectionTokens = true
                    }
                case 11 where named("x-timestamp"): timestamp = value()
                case 11 where named("x-signature"): signature = value()
                case 12 where named("content-type"): contentType = value()
                case 13 where named("authorization"): authorization = value()
                case 14 where named("content-length"): contentLengths.append(value())
                case 14 where named("x-knoxcall-key"):
                    head = fields.bytes
                    keyStart = span.valueStart
                    keyEnd = span.valueEnd
                case 15 where named("x-forwarded-for"): forwardedFor.append(value())
                case 16 where named("x-knoxcall-route"): route = value()
                case 17 where named("transfer-encoding"): transferEncodings.append(value())
                case 17 where named("x-knoxcall-origin"): origin = value()
                case 22 where named("x-knoxcall-environment"): environment = value()
                default: break
                }
            }
        }
        declaredLength = contentLengths.first.flatMap { Int($0) }
    }

    /// The pseudonym KnoxCall gives itself in `Via` (RFC 9110 §7.6.3): `Via: 1.1 knoxcall`.
    static let viaPseudonym = "knoxcall"

    /// Entries of a `Via` value (`1.1 knoxcall, 1.0 edge (nginx)`) whose received-by name (the second word) is
    /// KnoxCall's, in any case. Read in place: no strings are made.
    static func knoxcallEntries(inVia value: String) -> Int {
        var value = value
        return value.withUTF8 { bytes in
            var count = 0
            var word = 0  // words ended so far in the current entry
            var start = -1  // where the current word began (-1: between words)
            for i in 0...bytes.count {
                let c = i < bytes.count ? bytes[i] : UInt8(ascii: ",")
                let ends = c == UInt8(ascii: ",") || c == UInt8(ascii: " ") || c == UInt8(ascii: "\t")
                if !ends {
                    if start < 0 { start = i }
                    continue
                }
                if start >= 0 {
                    word += 1
                    if word == 2, i - start == viaPseudonym.utf8.count,
                        zip(bytes[start..<i], viaPseudonym.utf8).allSatisfy({ Wire.folded($0) == $1 })
                    {
                        count += 1
                    }
                    start = -1
                }
                if c == UInt8(ascii: ",") { word = 0 }
            }
            return count
        }
    }

    /// Runs `body` over the key's bytes; nil when the request has no key.
    func withKeyBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R? {
        guard let head else { return nil }
        return try head.withUnsafeReadableBytes { (p: UnsafeRawBufferPointer) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: p[Int(keyStart)..<Int(keyEnd)]))
        }
    }

    /// The first `Content-Length`, as a number (read once: the exchange asks several times).
    private(set) var declaredLength: Int?
    var hasBody: Bool { declaredLength.map { $0 > 0 } ?? !transferEncodings.isEmpty }
}
