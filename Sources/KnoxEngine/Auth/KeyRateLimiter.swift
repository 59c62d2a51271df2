import KnoxCore
import KnoxDataPlane
import Synchronization

/// The outcome of one rate-limit check, with what the `X-RateLimit-*` headers report.
public struct RateLimitDecision: Sendable, Equatable {
    public let allowed: Bool
    public let limit: Int
    public let remaining: Int
    /// Unix seconds at which the bucket is full again.
    public let resetAt: Int64
    /// Seconds until one request is allowed (only when refused).
    public let retryAfter: Int
}

/// A token bucket per API key for the management API: capacity `requests`, refilled evenly over `windowSec`.
///
/// The management API is not the hot path, so a lock around a dictionary is enough here.
final class KeyRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updatedMillis: Int64
    }

    private let defaultLimit: RateLimitSetting
    private struct Table {
        var buckets: [String: Bucket] = [:]
        var prunedAt: Int64?
    }
    private let table = Mutex(Table())
    /// Past this many buckets, those idle for a whole window (full again, so the same as absent) are forgotten: keyed
    /// by something a stranger chooses (a source address), the table must not grow without bound.
    private let maxBuckets: Int

    init(defaultLimit: RateLimitSetting, maxBuckets: Int = .max) {
        self.defaultLimit = defaultLimit
        self.maxBuckets = maxBuckets
    }

    /// Takes one token for `keyId` at `nowMillis`.
    func take(keyId: String, limit: RateLimitSetting?, nowMillis: Int64) -> RateLimitDecision {
        let setting = limit ?? defaultLimit
        let capacity = Double(setting.requests)
        let perMilli = capacity / Double(setting.windowSec * 1000)
        let windowMillis = Int64(setting.windowSec) * 1000
        return table.withLock { table in
            if table.buckets[keyId] == nil && table.buckets.count >= maxBuckets {
                // At most once a second (the sweep reads the whole table); still full after it: refused, since a
                // stranger choosing new keys must not grow the table.
                if table.prunedAt.map({ nowMillis - $0 >= 1000 }) ?? true {
                    table.prunedAt = nowMillis
                    table.buckets = table.buckets.filter { nowMillis - $0.value.updatedMillis < windowMillis }
                }
                if table.buckets.count >= maxBuckets {
                    return RateLimitDecision(
                        allowed: false, limit: setting.requests, remaining: 0,
                        resetAt: (nowMillis + windowMillis) / 1000,
                        retryAfter: 1)
                }
            }
            var bucket = table.buckets[keyId] ?? Bucket(tokens: capacity, updatedMillis: nowMillis)
            let elapsed = Double(max(0, nowMillis - bucket.updatedMillis))
            bucket.tokens = min(capacity, bucket.tokens + elapsed * perMilli)
            bucket.updatedMillis = nowMillis
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            table.buckets[keyId] = bucket
            let untilFull = (capacity - bucket.tokens) / perMilli
            let untilOne = allowed ? 0 : (1 - bucket.tokens) / perMilli
            return RateLimitDecision(
                allowed: allowed, limit: setting.requests, remaining: Int(bucket.tokens.rounded(.down)),
                resetAt: (nowMillis + Int64(untilFull.rounded(.up))) / 1000 + (untilFull > 0 ? 1 : 0),
                retryAfter: max(1, Int((untilOne / 1000).rounded(.up))))
        }
    }
}

/// A rate limit per source address (for endpoints a stranger can call, such as `/oauth/authorize`), in memory.
final class AddressRateLimiter: Sendable {
    private let buckets: KeyRateLimiter

    init(perMinute: Int) {
        buckets = KeyRateLimiter(defaultLimit: RateLimitSetting(requests: perMinute, windowSec: 60), maxBuckets: 10_000)
    }

    /// One token for `address`. IPv6 addresses count by their /64 (what one host is usually given), so a caller
    /// cannot take a fresh allowance with every address of its own network.
    func take(_ address: String, nowMillis: Int64) -> RateLimitDecision {
        buckets.take(keyId: Self.key(address), limit: nil, nowMillis: nowMillis)
    }

    static func key(_ address: String) -> String {
        guard let ip = IPAddress(address)?.unmapped else { return address }
        guard !ip.isIPv4 else { return ip.description }
        return IPRange.network(of: ip, prefix: 64).description + "/64"
    }
}

/// Remembers when keys were used, so `last_used_at` is written in batches rather than once per request.
final class KeyUsageRecorder: Sendable {
    private let pending = Mutex<[String: Int64]>([:])

    func note(keyId: String, at millis: Int64) {
        pending.withLock { $0[keyId] = millis }
    }

    func drain() -> [String: Int64] {
        pending.withLock { p in
            defer { p = [:] }
            return p
        }
    }

    /// Puts back times a write could not store (newer notes of the same key win).
    func restore(_ times: [String: Int64]) {
        pending.withLock { p in p.merge(times) { current, _ in current } }
    }
}
