import Atomics
import Logging

/// Connections one mode's listeners closed or refused on their own, by reason: counted lock-free on the event loops,
/// reported in the process log by `EngineMaintenance` (and read by tests).
public final class ConnectionStats: Sendable {
    /// A copy of the counters at one moment.
    public struct Counts: Sendable, Equatable {
        /// Closed because the head of a request did not arrive in time (silent or slow callers).
        public var headTimeouts = 0
        /// Keep-alive connections closed after sitting idle.
        public var idleClosed = 0
        /// Requests cut off because their body stopped arriving.
        public var bodyStalls = 0
        /// Connections refused because the listener held its cap.
        public var refusedAtCap = 0
        /// Connections cut off because the caller stopped reading its answer.
        public var readerStalls = 0

        public init() {}

        /// Whether anything an operator should hear about happened (idle closes are routine).
        var worthReporting: Bool { headTimeouts + bodyStalls + refusedAtCap + readerStalls > 0 }
    }

    private let headTimeouts = ManagedAtomic<Int>(0)
    private let idleClosed = ManagedAtomic<Int>(0)
    private let bodyStalls = ManagedAtomic<Int>(0)
    private let refusedAtCap = ManagedAtomic<Int>(0)
    private let readerStalls = ManagedAtomic<Int>(0)

    public init() {}

    public enum Reason: Sendable {
        case headTimeout, idle, bodyStall, cap, readerStall
    }

    public func count(_ reason: Reason) {
        switch reason {
        case .headTimeout: headTimeouts.wrappingIncrement(ordering: .relaxed)
        case .idle: idleClosed.wrappingIncrement(ordering: .relaxed)
        case .bodyStall: bodyStalls.wrappingIncrement(ordering: .relaxed)
        case .cap: refusedAtCap.wrappingIncrement(ordering: .relaxed)
        case .readerStall: readerStalls.wrappingIncrement(ordering: .relaxed)
        }
    }

    public func snapshot() -> Counts {
        var c = Counts()
        c.headTimeouts = headTimeouts.load(ordering: .relaxed)
        c.idleClosed = idleClosed.load(ordering: .relaxed)
        c.bodyStalls = bodyStalls.load(ordering: .relaxed)
        c.refusedAtCap = refusedAtCap.load(ordering: .relaxed)
        c.readerStalls = readerStalls.load(ordering: .relaxed)
        return c
    }

    /// Logs what changed since `last` (a warning when callers were cut off or refused), and returns the counts.
    package func report(since last: Counts, mode: String, logger: Logger) -> Counts {
        let now = snapshot()
        var delta = Counts()
        delta.headTimeouts = now.headTimeouts - last.headTimeouts
        delta.idleClosed = now.idleClosed - last.idleClosed
        delta.bodyStalls = now.bodyStalls - last.bodyStalls
        delta.refusedAtCap = now.refusedAtCap - last.refusedAtCap
        delta.readerStalls = now.readerStalls - last.readerStalls
        guard delta != Counts() else { return now }
        let metadata: Logger.Metadata = [
            "mode": "\(mode)", "connections.head_timeouts": "\(delta.headTimeouts)",
            "connections.body_stalls": "\(delta.bodyStalls)", "connections.refused_at_cap": "\(delta.refusedAtCap)",
            "connections.idle_closed": "\(delta.idleClosed)", "connections.reader_stalls": "\(delta.readerStalls)",
        ]
        if delta.worthReporting {
            logger.warning("connections cut off by the listener limits", metadata: metadata)
        } else {
            logger.debug("idle connections closed", metadata: metadata)
        }
        return now
    }
}
