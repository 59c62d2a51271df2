/// Which header names a route may inject: the rule the API checks when a route is saved and the data plane applies
/// again to rows saved before it (one list, so the two cannot disagree).
public enum InjectableHeaders {
    /// Headers that describe the connection or the message framing; injecting them would corrupt the request.
    public static let framing: Set<String> = [
        "host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer",
        "upgrade", "expect",
    ]

    /// Headers the gateway itself sets or reads on the way through; injected, they would name a route and a key to
    /// another KnoxCall (a loop), hide the caller's address, or break the hop count.
    public static let reserved: Set<String> = [
        "via", "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "x-request-id",
    ]

    /// Whether `name` (any case) may not be injected: a framing header, a reserved one, or any `x-knoxcall-*` and
    /// `x-knox-*` header (KnoxCall's own).
    public static func isUninjectable(_ name: String) -> Bool {
        let lower = name.lowercased()
        return framing.contains(lower) || reserved.contains(lower)
            || lower.hasPrefix("x-knox")
    }
}
