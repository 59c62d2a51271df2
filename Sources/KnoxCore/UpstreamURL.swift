/// A route's upstream base URL: `http(s)://host[:port][/base/path]`, no credentials, query or fragment.
public struct UpstreamURL: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    /// Hostname, IPv4 address, or IPv6 address without brackets.
    public let host: String
    public let port: Int
    /// The path with any trailing `/` removed; empty for the root.
    public let basePath: String

    public var isTLS: Bool { scheme == "https" }
    /// The host is this machine by name or address: plain http is acceptable only there (RFC 8252 §7.3).
    public var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host.lowercased()) }
    /// `host` or `host:port` as a `Host` header carries it (IPv6 in brackets).
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let defaultPort = isTLS ? 443 : 80
        return port == defaultPort ? h : "\(h):\(port)"
    }

    public var description: String { "\(scheme)://\(hostHeader)\(basePath)" }

    /// Parses and checks a base URL. The error says what is wrong, for a `validation_error`.
    public static func parse(_ text: String) -> Result<UpstreamURL, ParseError> {
        guard text.unicodeScalars.count <= 2048 else { return .failure(.init("is longer than 2048 characters")) }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            return .failure(.init("must not contain spaces or control characters"))
        }
        // Everything below reads ASCII characters one by one; a non-ASCII scalar could join the `/` before it
        // into one Character and hide where the authority ends.
        guard text.unicodeScalars.allSatisfy(\.isASCII) else {
            return .failure(.init("must be ASCII; percent-encode other characters (RFC 3986)"))
        }
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") {
            scheme = "https"
        } else if lower.hasPrefix("http://") {
            scheme = "http"
        } else {
            return .failure(.init("must be an absolute http:// or https:// URL"))
        }
        let rest = text.dropFirst(scheme.count + 3)
        if rest.contains("#") { return .failure(.init("must not contain a fragment (#…)")) }
        if rest.contains("?") {
            return .failure(.init("must not contain a query string; the caller's query is appended to it"))
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if authority.contains("@") {
            return .failure(.init("must not contain credentials; inject them with inject_headers_json and a secret"))
        }
        guard !authority.isEmpty else { return .failure(.init("has no host")) }
        var host: String
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(.init("has an unclosed [ in its host"))
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            guard let v6 = IPAddress(host), !v6.isIPv4 else { return .failure(.init("has an invalid IPv6 address")) }
            host = v6.description
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.init("has an invalid port")) }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return .failure(.init("has an invalid host")) }
            host = parts[0].lowercased()
            if parts.count == 2 { portText = parts[1] }
            guard isValidHostname(host) else { return .failure(.init("has an invalid host \"\(host)\"")) }
        }
        var port = scheme == "https" ? 443 : 80
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                let p = Int(portText), (1...65535).contains(p)
            else { return .failure(.init("has an invalid port (1-65535)")) }
            port = p
        }
        if let bad = Self.firstInvalidPathByte(path) {
            return .failure(
                .init("has \"\(Character(Unicode.Scalar(bad)))\" in its path; percent-encode it (RFC 3986)"))
        }
        while path.hasSuffix("/") { path.removeLast() }
        return .success(UpstreamURL(scheme: scheme, host: host, port: port, basePath: path))
    }

    /// The first byte of `path` that RFC 3986 does not allow there (a `%` must start two hex digits).
    static func firstInvalidPathByte(_ path: String) -> UInt8? {
        let bytes = Array(path.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                let isHex: (UInt8) -> Bool = { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }
                guard i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else { return c }
                i += 3
                continue
            }
            let allowed =
                (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || "-._~!$&'()*+,;=:@/".utf8.contains(c)
            if !allowed { return c }
            i += 1
        }
        return nil
    }

    /// What is wrong with a URL.
    public struct ParseError: Error, Equatable, Sendable {
        public let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Whether `host` is a valid DNS name (labels of a-z, 0-9, `-`, `_`).
    public static func isValidHostname(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        for (i, label) in labels.enumerated() {
            // A trailing dot (fully qualified) is allowed.
            if label.isEmpty && i == labels.count - 1 && i > 0 { continue }
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-",
                label.utf8.allSatisfy({
                    ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "-")
                        || $0 == UInt8(ascii: "_")
                })
            else { return false }
        }
        return true
    }
}
