import Atomics
import KnoxCore
import Synchronization

/// A token bucket of capacity `burst` refilled at `requests / window` per second, kept as one atomic word (the
/// generic cell rate algorithm's "theoretical arrival time"), so every event loop can take from it without a lock
/// and N concurrent requests against capacity C let exactly C through.
public final class RateLimiter: Sendable {
    /// Nanoseconds one request "costs" (window / requests).
    public let emissionNanos: UInt64
    public let burst: Int
    public let limit: Int
    /// Theoretical arrival time in monotonic nanoseconds; starts at 0 (a full bucket).
    private let tat = ManagedAtomic<UInt64>(0)

    public init(requests: Int, windowSec: Int, burst: Int?) {
        let requests = max(1, requests)
        emissionNanos = max(1, UInt64(windowSec) * 1_000_000_000 / UInt64(requests))
        self.burst = max(1, burst ?? requests)
        limit = requests
    }

    public struct Decision: Sendable, Equatable {
        public let allowed: Bool
        /// Requests left in the bucket after this one.
        public let remaining: Int
        /// Nanoseconds until the bucket is full again.
        public let resetNanos: UInt64
        /// Nanoseconds until one request would be allowed (0 when allowed).
        public let retryAfterNanos: UInt64
    }

    /// Takes one token at monotonic time `now` (nanoseconds).
    public func take(now: UInt64) -> Decision {
        let capacity = UInt64(burst) * emissionNanos
        var current = tat.load(ordering: .relaxed)
        while true {
            let base = max(current, now)
            let next = base + emissionNanos
            if next - now > capacity {
                return Decision(
                    allowed: false, remaining: 0, resetNanos: base - now, retryAfterNanos: next - now - capacity)
            }
            let (exchanged, original) = tat.compareExchange(
                expected: current, desired: next, ordering: .acquiringAndReleasing)
            if exchanged {
                let remaining = Int((capacity - (next - now)) / emissionNanos)
                return Decision(allowed: true, remaining: remaining, resetNanos: next - now, retryAfterNanos: 0)
            }
            current = original
        }
    }
}

/// Keeps limiters alive across snapshots: a route whose limit settings did not change keeps its bucket when any
/// other configuration changes.
package final class RateLimiterRegistry: Sendable {
    private let limiters = Mutex<[String: RateLimiter]>([:])

    package init() {}

    package func limiter(routeId: String, environment: String, requests: Int, windowSec: Int, burst: Int?)
        -> RateLimiter
    {
        let key = "\(routeId)|\(environment)|\(requests)|\(windowSec)|\(burst ?? -1)"
        return limiters.withLock { map in
            if let existing = map[key] { return existing }
            let created = RateLimiter(requests: requests, windowSec: windowSec, burst: burst)
            map[key] = created
            return created
        }
    }

    /// Forgets limiters no snapshot uses any more.
    package func retain(only keys: Set<String>) {
        limiters.withLock { map in map = map.filter { keys.contains($0.key) } }
    }
}
