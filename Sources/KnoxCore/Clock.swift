#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Wall-clock time in milliseconds since the Unix epoch, injected so tests never sleep.
public protocol WallClock: Sendable {
    func nowMillis() -> Int64
}

extension WallClock {
    /// Seconds since the epoch, as a `Double`.
    public func nowSeconds() -> Double { Double(nowMillis()) / 1000 }
}

/// The real system clock.
public struct SystemClock: WallClock {
    public init() {}
    public func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// Monotonic time in nanoseconds, for rate limiters and latencies.
public protocol MonotonicClock: Sendable {
    func nowNanos() -> UInt64
}

/// The real monotonic clock.
public struct SystemMonotonicClock: MonotonicClock {
    public init() {}
    public func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
