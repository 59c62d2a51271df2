import KnoxDataPlane
import NIOCore

/// Where a downstream connection stands, for its timeouts. Times are monotonic nanoseconds.
enum ConnectionPhase {
    /// Waiting for a request head: since the connection opened, or since the first byte after an idle spell.
    case head(since: UInt64)
    /// Keep-alive, no request under way and nothing received.
    case idle(since: UInt64)
    /// A request's body is arriving (its head is in, its end is not).
    case body
    /// The whole request is in; the exchange (and its upstream timeout) is in charge.
    case busy
}

/// A listener's limits in the units its sweep uses.
struct ConnectionDeadlines: Sendable {
    let head: UInt64
    let idle: UInt64
    let bodyStall: UInt64

    init(_ limits: ListenerLimits) {
        head = limits.headTimeoutNanos
        idle = limits.idleTimeoutNanos
        bodyStall = limits.bodyStallTimeoutNanos
    }
}

/// The open downstream connections of one event loop, swept with the loop's upstream deadlines (UpstreamPool):
/// no timer per connection. Each handler knows its slot, so leaving is a swap with the last one. Confined to the loop.
final class ConnectionWatch: @unchecked Sendable {
    private var handlers = SlotList<ProxyHandler>()

    var count: Int { handlers.count }

    func add(_ handler: ProxyHandler) { handlers.add(handler) }

    func remove(_ handler: ProxyHandler) { handlers.remove(handler) }

    /// Lets each connection check its phase against its deadlines. Collected first: a connection that closes leaves
    /// the list being read.
    func sweep(now: UInt64) {
        guard !handlers.isEmpty else { return }
        let due = handlers.members.filter { $0.isDue(now: now) }
        for handler in due { handler.deadlinePassed(now: now) }
    }

    /// The process is stopping: idle connections close now, busy ones after their answer. Returns at once.
    func shutDown() {
        for handler in handlers.members { handler.shutDown() }
    }

    /// The grace period is over: whatever is still open closes now.
    func closeAll() {
        for handler in handlers.members { handler.closeNow() }
    }
}
