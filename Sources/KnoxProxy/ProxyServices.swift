import Atomics
import KnoxCore
import KnoxEngine
import NIOCore
import NIOSSL

/// What every exchange of one mode's data plane shares: the engine, clocks, per-loop connection pools, TLS.
final class ProxyServices: Sendable {
    /// Bodies held whole (for signatures, placeholders or inject_body_json) are at most this large.
    static let maxHeldBody = 1 << 20

    let engine: Engine
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

    init(engine: Engine, loops: [EventLoop], tls: NIOSSLContext?, monotonic: any MonotonicClock) {
        self.engine = engine
        self.monotonic = monotonic
        trustedProxies = engine.config.trustedProxies
        deadlines = ConnectionDeadlines(engine.config.dataPlaneLimits)
        maxHops = engine.config.maxHops
        connectTimeout = .nanoseconds(Int64(ListenerLimits.nanos(engine.config.upstreamConnectTimeoutSec)))
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in loops {
            pools[ObjectIdentifier(loop)] = UpstreamPool(eventLoop: loop, tls: tls, ownListeners: engine.ownListeners)
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
            engine: engine, snapshot: snapshot, trustedProxies: trustedProxies, maxHops: maxHops,
            nowMillis: nowMillis, nowNanos: monotonic.nowNanos())
    }

    func injector(_ snapshot: ConfigSnapshot, _ plan: RoutePlan, nowMillis: Int64) -> Injector {
        Injector(engine: engine, snapshot: snapshot, plan: plan, nowMillis: nowMillis)
    }

    /// Whether the connection's peer is a configured proxy (whose X-Forwarded-For is believed).
    func isTrustedProxy(_ client: IPAddress?, peer: IPAddress?) -> Bool {
        guard let peer else { return false }
        return trustedProxies.contains { $0.contains(peer) }
    }
}
