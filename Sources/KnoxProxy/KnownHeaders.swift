import NIOHTTP1

/// The request headers the data plane reads, found in one pass over the head (instead of one scan per name).
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

    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            switch name.utf8.count {
            case 4 where HeaderRules.same(name, "host"): host = value
            case 4 where HeaderRules.same(name, "dpop"): dpop = value
            case 6 where HeaderRules.same(name, "expect"): expect = value
            case 10 where HeaderRules.same(name, "connection"):
                if HeaderRules.connectionNamesHeaders(value) { hasConnectionTokens = true }
            case 11 where HeaderRules.same(name, "x-timestamp"): timestamp = value
            case 11 where HeaderRules.same(name, "x-signature"): signature = value
            case 12 where HeaderRules.same(name, "content-type"): contentType = value
            case 13 where HeaderRules.same(name, "authorization"): authorization = value
            case 14 where HeaderRules.same(name, "content-length"): contentLengths.append(value)
            case 14 where HeaderRules.same(name, "x-knoxcall-key"): key = value
            case 16 where HeaderRules.same(name, "x-knoxcall-route"): route = value
            case 17 where HeaderRules.same(name, "transfer-encoding"): transferEncodings.append(value)
            case 17 where HeaderRules.same(name, "x-knoxcall-origin"): origin = value
            case 15 where HeaderRules.same(name, "x-forwarded-for"): forwardedFor.append(value)
            case 22 where HeaderRules.same(name, "x-knoxcall-environment"): environment = value
            default: break
            }
        }
    }

    var declaredLength: Int? { contentLengths.first.flatMap { Int($0) } }
    var hasBody: Bool { declaredLength.map { $0 > 0 } ?? !transferEncodings.isEmpty }
}
