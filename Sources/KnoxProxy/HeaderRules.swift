import KnoxCore
import NIOHTTP1

/// Which headers cross the proxy, in each direction.
enum HeaderRules {
    /// Hop-by-hop headers (RFC 9110 §7.6.1) and framing headers the proxy sets itself.
    static let hopByHop: [String] = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length", "host", "expect",
    ]

    /// ASCII case-insensitive equality against a lowercase name, without allocating. Called several times for every
    /// header of every request and answer: lengths first, then one pass over contiguous bytes.
    @inline(__always)
    static func same(_ name: String, _ lower: String) -> Bool {
        guard name.utf8.count == lower.utf8.count else { return false }
        return hasLowercasePrefix(name, lower)
    }

    /// Whether `name` starts with `lower` (a lowercase ASCII text), ignoring ASCII case.
    @inline(__always)
    private static func hasLowercasePrefix(_ name: String, _ lower: String) -> Bool {
        guard name.utf8.count >= lower.utf8.count else { return false }
        let fast = name.utf8.withContiguousStorageIfAvailable { a in
            lower.utf8.withContiguousStorageIfAvailable { b in equalFolded(UnsafeBufferPointer(rebasing: a[0..<b.count]), b) }
        }
        if let fast, let result = fast { return result }
        return zip(name.utf8, lower.utf8).allSatisfy { x, y in folded(x) == y }
    }

    /// `bytes` equal `lower` (lowercase ASCII) when A-Z in `bytes` are folded.
    @inline(__always)
    private static func equalFolded(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == lower.count else { return false }
        for i in 0..<bytes.count where folded(bytes[i]) != lower[i] { return false }
        return true
    }

    @inline(__always)
    private static func folded(_ x: UInt8) -> UInt8 { (x >= 65 && x <= 90) ? x | 0x20 : x }

    /// Whether `name` is in `hopByHop`. Every header of every request and answer passes here, so the length picks
    /// the candidates before any byte is compared.
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return same(name, "te")
        case 4: return same(name, "host")
        case 6: return same(name, "expect")
        case 7: return same(name, "upgrade") || same(name, "trailer")
        case 10: return same(name, "connection") || same(name, "keep-alive")
        case 14: return same(name, "content-length")
        case 16: return same(name, "proxy-connection")
        case 17: return same(name, "transfer-encoding")
        case 18: return same(name, "proxy-authenticate")
        case 19: return same(name, "proxy-authorization")
        default: return false
        }
    }

    /// Whether a `Connection` value names headers (anything besides `keep-alive` and `close`), which then become
    /// hop-by-hop too. A byte scan: the usual `keep-alive` costs no list of tokens.
    static func connectionNamesHeaders(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            var start = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: ",") { end += 1 }
                var a = start
                var b = end
                while a < b && (bytes[a] == 32 || bytes[a] == 9) { a += 1 }
                while b > a && (bytes[b - 1] == 32 || bytes[b - 1] == 9) { b -= 1 }
                if a < b {
                    let token = UnsafeBufferPointer(rebasing: bytes[a..<b])
                    if !equalsLower(token, "keep-alive") && !equalsLower(token, "close") { return true }
                }
                start = end + 1
            }
            return false
        }
    }

    private static func equalsLower(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        lower.withUTF8Buffer { equalFolded(bytes, $0) }
    }

    /// The header names a `Connection` header lists (lowercased), which are hop-by-hop too. Empty, and nothing
    /// allocated, when the only tokens are `keep-alive` and `close`: the usual case.
    static func connectionNamed(_ headers: HTTPHeaders) -> [String] {
        guard headers.contains(where: { same($0.name, "connection") && connectionNamesHeaders($0.value) }) else { return [] }
        return headers[canonicalForm: "connection"].map { $0.lowercased() }.filter { !same($0, "keep-alive") && !same($0, "close") }
    }

    /// Whether `name` starts with `x-knoxcall-` (any case).
    static func isKnoxcallHeader(_ name: String) -> Bool {
        name.utf8.count > 11 && hasLowercasePrefix(name, "x-knoxcall-")
    }

    /// The headers to send upstream: the caller's, minus hop-by-hop headers, KnoxCall's own headers and credentials,
    /// forwarding headers the caller is not trusted to set; plus Host, X-Forwarded-*, X-Request-Id and the injected
    /// headers (which replace any the caller sent under the same name).
    static func upstreamHeaders(
        from request: HTTPHeaders, target: UpstreamURL, hostHeader: String? = nil, clientIP: IPAddress?,
        clientText: String? = nil,
        peerIsTrustedProxy: Bool,
        requestId: String, injected: [(String, String)], consumedSignature: Bool, bodyLength: Int?, chunked: Bool,
        hasConnectionTokens: Bool = true
    ) -> HTTPHeaders {
        // Names the caller listed in `Connection` are hop-by-hop too (rare; only then is anything allocated).
        let connectionNamed = hasConnectionTokens ? connectionNamed(request) : []
        let injectedNames = injected.isEmpty ? [] : injected.map { $0.0.lowercased() }
        var out = HTTPHeaders()
        out.reserveCapacity(request.count + injected.count + 4)
        out.add(name: "Host", value: hostHeader ?? target.hostHeader)
        var forwardedFor: String?
        var forwardedProto: String?
        for (name, value) in request {
            if isHopByHop(name) || isKnoxcallHeader(name) || injectedNames.contains(where: { same(name, $0) }) {
                continue
            }
            if !connectionNamed.isEmpty, connectionNamed.contains(where: { same(name, $0) }) { continue }
            if same(name, "x-forwarded-for") {
                if peerIsTrustedProxy { forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value }
                continue
            }
            if same(name, "x-forwarded-proto") {
                if peerIsTrustedProxy { forwardedProto = value }
                continue
            }
            if same(name, "forwarded") || same(name, "x-request-id") || same(name, "dpop") { continue }
            if same(name, "authorization") {
                // The caller's KnoxCall credential never reaches the upstream; its own upstream credential does.
                if Gate.knoxcallToken(value) != nil || KeyCredential.parse(bearer(value)) != nil { continue }
            }
            if consumedSignature && (same(name, "x-timestamp") || same(name, "x-signature")) { continue }
            out.add(name: name, value: value)
        }
        if let ip = clientIP {
            out.add(name: "X-Forwarded-For", value: forwardedFor.map { "\($0), \(ip)" } ?? (clientText ?? ip.description))
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

    static let credentialMarkers: [[UInt8]] = ["tk_live_", "tk_test_", "kc_live_", "kc_test_", "kcr_live_", "kcr_test_"]
        .map { Array($0.utf8) }

    /// Whether `value` holds a KnoxCall key or token anywhere (`tk_live_`, `kc_test_`, `kcr_live_`, …). A byte scan:
    /// Foundation's `contains` bridged every header of every request through NSString.
    static func holdsKnoxCallCredential(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            guard bytes.count >= 8 else { return false }
            for i in 0...(bytes.count - 8) where bytes[i] == UInt8(ascii: "t") || bytes[i] == UInt8(ascii: "k") {
                for marker in credentialMarkers where i + marker.count <= bytes.count {
                    var match = true
                    for j in 0..<marker.count where bytes[i + j] != marker[j] {
                        match = false
                        break
                    }
                    if match { return true }
                }
            }
            return false
        }
    }

    /// Headers whose values are credentials: logged as `‹redacted›`.
    static let credentialHeaders = [
        "authorization", "proxy-authorization", "x-knoxcall-key", "x-api-key", "cookie", "dpop", "x-signature",
        "x-knoxcall-agent-token", "x-amz-security-token",
    ]

    /// The caller's headers as `Name: value` lines for the log row (at most 4 KiB), credentials redacted: a header
    /// named as a credential, or any value that holds a KnoxCall key or token.
    static func loggable(_ headers: HTTPHeaders) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        for (name, value) in headers {
            let secret = credentialHeaders.contains { same(name, $0) } || holdsKnoxCallCredential(value)
                || KeyCredential.parse(value) != nil
            out.append(contentsOf: name.utf8)
            out.append(UInt8(ascii: ":"))
            out.append(UInt8(ascii: " "))
            if secret { out.append(contentsOf: redacted) } else { out.append(contentsOf: value.utf8) }
            out.append(UInt8(ascii: "\n"))
            if out.count > 4096 { return String(decoding: out.prefix(4096), as: UTF8.self) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let redacted = Array("‹redacted›".utf8)
}
