/// The request headers the data plane reads, found in one pass over the head (instead of one scan per name). Only
/// these become `String`s; every other header stays in the received bytes until it is copied upstream.
struct KnownHeaders {
    var key: String?
    var authorization: String?
    var route: String?
    var environment: String?
    var timestamp: String?
    var signature: String?
    var contentType: String?
    var expect: String?
    var origin: String?
    var host: String?
    /// A DPoP proof (RFC 9449).
    var dpop: String?
    /// Values of every `Content-Length` and `Transfer-Encoding` line (framing checks need them all).
    var contentLengths: [String] = []
    var transferEncodings: [String] = []
    var forwardedFor: [String] = []
    /// A `Connection` header names other headers (which are then not forwarded).
    var hasConnectionTokens = false

    init(_ fields: HeaderFields) {
        fields.withBytes { p in
            for span in fields.spans {
                let a = Int(span.nameStart)
                let b = Int(span.nameEnd)
                func named(_ lower: StaticString) -> Bool { Wire.equalsFolded(p, a, b, lower) }
                func value() -> String { Wire.text(p, span.valueStart, span.valueEnd) }
                switch b - a {
                case 4 where named("host"): host = value()
                case 4 where named("dpop"): dpop = value()
                case 6 where named("expect"): expect = value()
                case 10 where named("connection"):
                    if HeaderRules.connectionNamesHeaders(p, Int(span.valueStart), Int(span.valueEnd)) { hasConnectionTokens = true }
                case 11 where named("x-timestamp"): timestamp = value()
                case 11 where named("x-signature"): signature = value()
                case 12 where named("content-type"): contentType = value()
                case 13 where named("authorization"): authorization = value()
                case 14 where named("content-length"): contentLengths.append(value())
                case 14 where named("x-knoxcall-key"): key = value()
                case 15 where named("x-forwarded-for"): forwardedFor.append(value())
                case 16 where named("x-knoxcall-route"): route = value()
                case 17 where named("transfer-encoding"): transferEncodings.append(value())
                case 17 where named("x-knoxcall-origin"): origin = value()
                case 22 where named("x-knoxcall-environment"): environment = value()
                default: break
                }
            }
        }
    }

    var declaredLength: Int? { contentLengths.first.flatMap { Int($0) } }
    var hasBody: Bool { declaredLength.map { $0 > 0 } ?? !transferEncodings.isEmpty }
}
