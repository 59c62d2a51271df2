import KnoxCore
import KnoxStore

/// The self-hosted tenant, as `GET /v1/account` shows it.
public struct Account: Sendable, Equatable {
    public let id: String
    public let slug: String
    public let name: String
    public let createdAt: Int64
    public let mode: Mode
}

/// This month's proxied requests and resource counts against the configured quotas (`GET /v1/account/usage`).
public struct AccountUsage: Sendable, Equatable {
    /// The billing period: the calendar month (UTC), from its first millisecond to its last.
    public let year: Int
    public let month: Int
    public let periodStart: Int64
    public let periodEnd: Int64
    /// Requests proxied since the month began.
    public let calls: Int
    public let routes: Quota
    public let secrets: Quota
    public let clients: Quota
    public let environments: Quota

    /// How many there are, and the limit (nil: none).
    public struct Quota: Sendable, Equatable {
        public let used: Int
        public let limit: Int?
    }
}

extension Engine {
    /// `GET /v1/account` (any valid key): the self-hosted tenant.
    public func tenant() async throws -> Account {
        Account(
            id: tenantId, slug: config.tenantSlug, name: config.tenantName, createdAt: try await createdAt(), mode: mode
        )
    }

    /// `GET /v1/account/usage`: this month's proxied requests and resource counts against the configured quotas.
    public func usage() async throws -> AccountUsage {
        let now = clock.nowMillis()
        let (y, mo, _) = Timestamp.civil(fromDays: now / 86_400_000)
        let monthStart = Timestamp.days(fromCivil: y, mo, 1) * 86_400_000
        let nextMonth = mo == 12 ? Timestamp.days(fromCivil: y + 1, 1, 1) : Timestamp.days(fromCivil: y, mo + 1, 1)
        let limits = config.limits
        let counts = try await query { access in
            (
                calls: try access.requestLogCount(since: monthStart), routes: try access.count(.routes),
                secrets: try access.count(.secrets), clients: try access.count(.clients),
                environments: try access.count(.environments)
            )
        }
        return AccountUsage(
            year: Int(y), month: Int(mo), periodStart: monthStart, periodEnd: nextMonth * 86_400_000 - 1,
            calls: counts.calls, routes: .init(used: counts.routes, limit: limits.routes),
            secrets: .init(used: counts.secrets, limit: limits.secrets),
            clients: .init(used: counts.clients, limit: limits.clients),
            environments: .init(used: counts.environments, limit: limits.environments))
    }
}
