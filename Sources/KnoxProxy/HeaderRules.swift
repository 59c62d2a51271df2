import KnoxCore
import NIOHTTP1

/// Which headers cross the proxy, in each direction.
enum HeaderRules {
    /// Hop-by-hop headers (RFC 9110 §7.6.1) and framing headers the proxy sets itself.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length", "host", "expect",
    ]

    /// The headers to send upstream: the caller's, minus hop-by-hop headers, KnoxCall's own headers and credentials,
    /// forwarding headers the caller is not trusted to set; plus Host, X-Forwarded-*, X-Request-Id and the injected
    /// headers (which replace any the caller sent under the same name).
    static func upstreamHeaders(
        from request: HTTPHeaders, target: UpstreamURL, clientIP: IPAddress?, peerIsTrustedProxy: Bool,
        requestId: String, injected: [(String, String)], consumedSignature: Bool, bodyLength: Int?, chunked: Bool
    ) -> HTTPHeaders {
        var named: Set<String> = []
        for value in request[canonicalForm: "connection"] { named.insert(value.lowercased()) }
        var out = HTTPHeaders()
        out.reserveCapacity(request.count + injected.count + 4)
        out.add(name: "Host", value: target.hostHeader)
        let injectedNames = Set(injected.map { $0.0.lowercased() })
        var forwardedFor: String?
        var forwardedProto: String?
        for (name, value) in request {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || named.contains(lower) || lower.hasPrefix("x-knoxcall-") || injectedNames.contains(lower) {
                continue
            }
            switch lower {
            case "x-forwarded-for":
                if peerIsTrustedProxy { forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value }
                continue
            case "x-forwarded-proto":
                if peerIsTrustedProxy { forwardedProto = value }
                continue
            case "forwarded", "x-request-id":
                continue
            case "authorization", "dpop":
                // The caller's KnoxCall credential never reaches the upstream; its own upstream credential does.
                if lower == "dpop" || Gate.knoxcallToken(value) != nil || KeyCredential.parse(bearer(value)) != nil { continue }
            case "x-timestamp", "x-signature":
                if consumedSignature { continue }
            default:
                break
            }
            out.add(name: name, value: value)
        }
        if let ip = clientIP {
            out.add(name: "X-Forwarded-For", value: forwardedFor.map { "\($0), \(ip)" } ?? ip.description)
        }
        out.add(name: "X-Forwarded-Proto", value: forwardedProto ?? "http")
        out.add(name: "X-Request-Id", value: requestId)
        for (name, value) in injected { out.add(name: name, value: value) }
        if let bodyLength {
            out.add(name: "Content-Length", value: String(bodyLength))
        } else if chunked {
            out.add(name: "Transfer-Encoding", value: "chunked")
        }
        return out
    }

    private static func bearer(_ value: String) -> String {
        let parts = value.split(separator: " ", maxSplits: 1)
        return parts.count == 2 ? String(parts[1]) : value
    }

    /// The upstream's response headers as the caller gets them: hop-by-hop headers removed (NIO frames the
    /// response), plus `X-Knox-Upstream-Status`, `X-Request-Id` and the rate-limit headers.
    static func responseHeaders(
        from upstream: HTTPResponseHead, requestId: String, rateLimit: [(String, String)], keepAlive: Bool
    ) -> HTTPHeaders {
        var named: Set<String> = []
        for value in upstream.headers[canonicalForm: "connection"] { named.insert(value.lowercased()) }
        var out = HTTPHeaders()
        out.reserveCapacity(upstream.headers.count + 4 + rateLimit.count)
        for (name, value) in upstream.headers {
            let lower = name.lowercased()
            if lower == "content-length" {
                out.add(name: name, value: value)
                continue
            }
            if hopByHop.contains(lower) || named.contains(lower) || lower == "x-request-id" || lower == "x-knox-upstream-status" {
                continue
            }
            out.add(name: name, value: value)
        }
        out.add(name: "X-Knox-Upstream-Status", value: String(upstream.status.code))
        out.add(name: "X-Request-Id", value: requestId)
        for (name, value) in rateLimit { out.add(name: name, value: value) }
        if !keepAlive { out.add(name: "Connection", value: "close") }
        return out
    }
}
