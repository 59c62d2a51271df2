import KnoxCore

#if canImport(Glibc)
    import Glibc
#endif

/// How long a listener's connections may take over each phase, and how many it holds at once (`[data_plane]` and
/// `[management]` in `config.toml`). A connection that passes a limit is closed; each closing is counted
/// (`ConnectionStats`) and reported in the process log.
public struct ListenerLimits: Sendable, Equatable {
    /// Connections held at once per listener; nil: the open-file limit divided by `maxConnectionsShare`.
    public var maxConnections: Int?
    /// From the connection's start, or from a request's first byte, until its head is complete.
    public var headTimeoutSec: Double = 10
    /// A keep-alive connection with no request under way.
    public var idleTimeoutSec: Double = 60
    /// A request body that sends nothing for this long.
    public var bodyStallTimeoutSec: Double = 30
    /// On SIGTERM: how long requests in flight may take to finish before their connections are closed.
    public var shutdownGraceSec: Double = 30
    /// The default cap's share of the open-file limit (4 listeners, and upstream connections, share it).
    let maxConnectionsShare: Int

    public init(maxConnectionsShare: Int) { self.maxConnectionsShare = maxConnectionsShare }

    static let keys: Set<String> = [
        "max_connections", "head_timeout_sec", "idle_timeout_sec", "body_stall_timeout_sec", "shutdown_grace_sec",
    ]

    mutating func read(_ r: FieldReader) throws(ApiError) {
        if let v = try r.int("max_connections", in: 1...10_000_000).value { maxConnections = v }
        if let v = try r.number("head_timeout_sec", in: 0.1...3600).value { headTimeoutSec = v }
        if let v = try r.number("idle_timeout_sec", in: 0.1...86_400).value { idleTimeoutSec = v }
        if let v = try r.number("body_stall_timeout_sec", in: 0.1...3600).value { bodyStallTimeoutSec = v }
        if let v = try r.number("shutdown_grace_sec", in: 0...3600).value { shutdownGraceSec = v }
    }

    /// The cap in force: the configured one, else a share of this process's open-file limit (at least 64).
    public var connectionCap: Int {
        if let maxConnections { return maxConnections }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 4096 }
        return max(64, Int(limit.rlim_cur) / maxConnectionsShare)
    }

    /// Nanoseconds, for the sweeps that enforce them.
    public var headTimeoutNanos: UInt64 { Self.nanos(headTimeoutSec) }
    public var idleTimeoutNanos: UInt64 { Self.nanos(idleTimeoutSec) }
    public var bodyStallTimeoutNanos: UInt64 { Self.nanos(bodyStallTimeoutSec) }

    public static func nanos(_ seconds: Double) -> UInt64 { UInt64(seconds * 1_000_000_000) }

    /// What a listener past its cap answers before it closes the connection (both kinds of listener).
    public static let overCapAnswer: [UInt8] = {
        let body =
            #"{"error":{"type":"too_many_connections","message":"This listener holds as many connections as it may; retry shortly"}}"#
        return Array(
            ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: 1\r\n"
                + "Cache-Control: no-store\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
                .utf8)
    }()
}
