import Atomics
import KnoxCore
import KnoxDataPlane
import NIOCore
import NIOSSL

/// What every exchange of one mode's data plane shares: the engine's port, clocks, per-loop connection pools, TLS.
final class ProxyServices: Sendable {
    /// Bodies held whole (for signatures, placeholders or inject_body_json) are at most this large.
    static let maxHeldBody = 1 << 20

    let port: any DataPlanePort
    let monotonic: any MonotonicClock
    let trustedProxies: [IPRange]
    /// The data plane's head, idle and body-stall timeouts (`[data_plane]`).
    let deadlines: ConnectionDeadlines
    /// How long connecting to an upstream may take.
    let connectTimeout: TimeAmount
    /// KnoxCall hops a request may already have passed (`[data_plane] max_hops`).
    let maxHops: Int
    /// The process is stopping (set by `ProxyServer.drain`): a connection accepted now is drained at once.
    let stopping = ManagedAtomic<Bool>(false)
    /// One pool per event loop of the data plane's group, fixed at start: looked up without a lock.
    private let pools: [ObjectIdentifier: UpstreamPool]

    init(port: any DataPlanePort, loops: [EventLoop], tls: NIOSSLContext?, monotonic: any MonotonicClock) {
        self.port = port
        self.monotonic = monotonic
        trustedProxies = port.config.trustedProxies
        deadlines = ConnectionDeadlines(port.config.dataPlaneLimits)
        maxHops = port.config.maxHops
        connectTimeout = .nanoseconds(Int64(ListenerLimits.nanos(port.config.upstreamConnectTimeoutSec)))
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in loops {
            pools[ObjectIdentifier(loop)] = UpstreamPool(eventLoop: loop, tls: tls, ownListeners: port.ownListeners)
        }
        self.pools = pools
    }

    func pool(for loop: EventLoop) -> UpstreamPool {
        // Every connection is accepted on one of `loops`, so its pool exists.
        guard let pool = pools[ObjectIdentifier(loop)] else {
            preconditionFailure("event loop outside the data plane's group")
        }
        return pool
    }

    /// Runs `body` with each event loop's pool, on that loop (shutdown: every connection of this data plane).
    func forEachPool(_ body: @escaping @Sendable (UpstreamPool) -> Void) {
        // A pool is confined to its loop (hence @unchecked Sendable): it is only touched inside the task on that loop.
        for pool in pools.values {
            pool.eventLoop.execute { body(pool) }
        }
    }

    func gate(_ snapshot: ConfigSnapshot, nowMillis: Int64) -> Gate {
        Gate(
            port: port, snapshot: snapshot, trustedProxies: trustedProxies, maxHops: maxHops,
            nowMillis: nowMillis, nowNanos: monotonic.nowNanos())
    }

    func injector(_ snapshot: ConfigSnapshot, _ plan: RoutePlan, nowMillis: Int64) -> Injector {
        Injector(opener: SecretOpener(port: port, nowMillis: nowMillis), snapshot: snapshot, plan: plan)
    }

    /// Whether the connection's peer is a configured proxy (whose X-Forwarded-For is believed).
    func isTrustedProxy(_ client: IPAddress?, peer: IPAddress?) -> Bool {
        guard let peer else { return false }
        return trustedProxies.contains { $0.contains(peer) }
    }
}
