import KnoxCore
import KnoxStore

extension Engine {
    /// `GET /v1/account` (any valid key): the self-hosted tenant.
    public func account() async throws -> JSONValue {
        let created = try await createdAt()
        return [
            "id": .string(tenantId), "slug": .string(config.tenantSlug), "name": .string(config.tenantName),
            "region": "self-hosted", "subscription_plan": "self-hosted", "subscription_status": "active",
            "trial_start_at": nil, "trial_end_at": nil, "subscription_current_period_start": nil,
            "subscription_current_period_end": nil, "subscription_cancel_at": nil, "created_at": Wire.time(created),
            "sandbox": .bool(mode.isSandbox), "mode": .string(mode.rawValue),
        ]
    }

    /// `GET /v1/account/usage`: this month's proxied requests and resource counts against the configured quotas.
    public func accountUsage() async throws -> JSONValue {
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
        func entry(_ used: Int, _ limit: Int?) -> JSONValue { ["used": .int(used), "limit": .int(limit)] }
        return [
            "billing_period": [
                "year": .int(Int(y)), "month": .int(Int(mo)), "start": Wire.time(monthStart),
                "end": Wire.time(nextMonth * 86_400_000 - 1),
            ],
            "api_calls": ["used": .int(counts.calls), "limit": nil, "percentage": 0],
            "resources": [
                "routes": entry(counts.routes, limits.routes), "secrets": entry(counts.secrets, limits.secrets),
                "clients": entry(counts.clients, limits.clients),
                "environments": entry(counts.environments, limits.environments),
            ],
            "plan": "self-hosted", "status": "active",
        ]
    }
}
