import KnoxCore
import KnoxStore

extension Wire {
    public static func environment(_ e: Environment, tenantId: String, mode: Mode) -> JSONValue {
        var o = Environment.fields.wire(e)
        o["tenant_id"] = .string(tenantId)
        o["sandbox"] = .bool(mode.isSandbox)
        return .object(o)
    }

    /// A secret as listed.
    public static func secret(_ summary: SecretSummary) -> JSONValue {
        secret(summary.secret, environmentCount: summary.environmentCount)
    }

    /// A secret with its versions and uses (`GET /v1/secrets/:id`).
    public static func secret(_ detail: SecretDetail) -> JSONValue {
        secret(detail.secret, environmentCount: detail.versions.count, values: detail.versions, uses: detail.uses)
    }

    /// A secret's metadata. Its value never appears in any representation.
    public static func secret(
        _ s: Secret, environmentCount: Int, values: [SecretValueVersion]? = nil, uses: [SecretUse]? = nil
    ) -> JSONValue {
        var o = Secret.fields.wire(s)
        o["environment_count"] = .int(environmentCount)
        if let values {
            o["environments"] = .array(
                values.map {
                    [
                        "environment_name": .string($0.environmentName), "value_version": .int($0.valueVersion),
                        "updated_at": time($0.updatedAt), "expires_at_override": .null,
                    ]
                })
        }
        if let uses {
            o["used_by"] = .array(
                uses.map {
                    [
                        "route_id": .string($0.routeId), "route_name": .string($0.routeName),
                        "environment": .string($0.environmentName), "field": .string($0.field),
                    ]
                })
        }
        return .object(o)
    }

    /// A client with its route assignments (`GET /v1/clients/:id`).
    public static func client(_ detail: ClientDetail, tenantId: String) -> JSONValue {
        client(detail.client, tenantId: tenantId, assignments: detail.assignments)
    }

    public static func client(
        _ c: Client, tenantId: String, assignments: [AssignmentDetail]? = nil
    ) -> JSONValue {
        var o = Client.fields.wire(c)
        o["tenant_id"] = .string(tenantId)
        for field in ["agent_version", "agent_os", "agent_arch", "agent_hostname", "agent_last_seen", "agent_mode"] {
            o[field] = .null
        }
        if let assignments {
            o["route_assignments"] = .array(
                assignments.map {
                    [
                        "route_id": .string($0.assignment.routeId), "route_name": .string($0.routeName),
                        "environment_name": .string($0.assignment.environmentName),
                    ]
                })
        }
        return .object(o)
    }

    /// One client assigned to a route (`GET /v1/routes/:id/clients`).
    public static func routeClient(_ d: AssignmentDetail) -> JSONValue {
        [
            "route_id": .string(d.assignment.routeId), "route_name": .string(d.routeName),
            "client_id": .string(d.client.id), "client_name": .string(d.client.name),
            "ip_address": .string(d.client.ipAddress), "client_enabled": .bool(d.client.enabled),
            "environment_name": .string(d.assignment.environmentName), "created_at": time(d.assignment.createdAt),
        ]
    }

    /// An API key as listed: masked, never the key itself.
    public static func apiKey(_ k: ApiKey) -> JSONValue { .object(ApiKey.fields.wire(k)) }

    /// A new key's answer: the record, the key text (this once) and the reminder to keep it.
    public static func apiKey(_ created: CreatedApiKey) -> JSONValue {
        var o = ApiKey.fields.wire(created.key)
        o["api_key"] = .string(created.text)
        o["message"] = "Store this key now: it is shown only once and cannot be recovered."
        return .object(o)
    }

    public static func secretValue(_ stored: StoredSecretValue) -> JSONValue {
        [
            "id": .string(stored.secretId), "name": .string(stored.secretName),
            "environment": .string(stored.environment), "value_version": .int(stored.valueVersion),
        ]
    }

    public static func routeEnvironment(_ detail: RouteEnvironmentDetail) -> JSONValue {
        routeEnvironment(detail.config, view: detail.route)
    }

    public static func removal(_ removal: Removal) -> JSONValue { removal.wire }

    public static func account(_ a: Account) -> JSONValue {
        [
            "id": .string(a.id), "slug": .string(a.slug), "name": .string(a.name),
            "region": "self-hosted", "subscription_plan": "self-hosted", "subscription_status": "active",
            "trial_start_at": nil, "trial_end_at": nil, "subscription_current_period_start": nil,
            "subscription_current_period_end": nil, "subscription_cancel_at": nil, "created_at": time(a.createdAt),
            "sandbox": .bool(a.mode.isSandbox), "mode": .string(a.mode.rawValue),
        ]
    }

    public static func usage(_ u: AccountUsage) -> JSONValue {
        func entry(_ q: AccountUsage.Quota) -> JSONValue { ["used": .int(q.used), "limit": .int(q.limit)] }
        return [
            "billing_period": [
                "year": .int(u.year), "month": .int(u.month), "start": time(u.periodStart), "end": time(u.periodEnd),
            ],
            "api_calls": ["used": .int(u.calls), "limit": nil, "percentage": 0],
            "resources": [
                "routes": entry(u.routes), "secrets": entry(u.secrets), "clients": entry(u.clients),
                "environments": entry(u.environments),
            ],
            "plan": "self-hosted", "status": "active",
        ]
    }

    /// The operator's decision on an authorization request.
    public static func authorizationDecision(_ record: OAuthAuthorization) -> JSONValue {
        ["id": .string(record.id), "status": .string(record.status.rawValue)]
    }

    public static func role(_ r: Role) -> JSONValue {
        [
            "id": .string(r.id), "name": .string(r.name), "slug": .string(r.slug),
            "description": .string(r.description), "applies_to": ["api_key"], "is_default": false, "seeded": true,
        ]
    }

    public static func auditEntry(_ a: AuditEntry) -> JSONValue {
        [
            "id": .string(a.id), "action": .string(a.action), "resource_type": .string(a.resourceType),
            "resource_id": .string(a.resourceId), "details": .object(a.details), "ip_address": .string(a.ipAddress),
            "actor": .string(a.actor), "api_key_id": .string(a.apiKeyId), "created_at": time(a.createdAt),
            "details_redacted": false,
        ]
    }

    /// A row of `GET /v1/routes/:id/logs`.
    public static func routeLog(_ e: RequestLogEntry) -> JSONValue {
        var o = JSONObject()
        o["id"] = .string(String(e.seq))
        o["request_id"] = .string(e.requestId)
        o["ts"] = time(e.ts)
        o["src_ip"] = .string(e.srcIp)
        o["method"] = .string(e.method)
        o["path"] = .string(e.path)
        o["status_code"] = .int(e.statusCode)
        o["latency_ms"] = .int(e.latencyMs)
        o["upstream_latency_ms"] = .int(e.upstreamLatencyMs)
        o["upstream_host"] = .string(e.upstreamHost)
        o["upstream_status"] = .int(e.upstreamStatus)
        o["error"] = .string(e.error)
        o["environment"] = .string(e.environment)
        o["rate_limited"] = .bool(e.rateLimited)
        o["signature_valid"] = .bool(e.signatureValid)
        o["source_ip_country"] = .null
        o["source_ip_city"] = .null
        return .object(o)
    }

    /// A row of the tenant-wide feed `GET /v1/logs`.
    public static func requestLog(_ e: RequestLogEntry, tenantId: String, mode: Mode, includeIdentity: Bool)
        -> JSONValue
    {
        var o = JSONObject()
        o["id"] = .string(String(e.seq))
        o["request_id"] = .string(e.requestId)
        o["tenant_id"] = .string(tenantId)
        o["route_id"] = .string(e.routeId)
        if includeIdentity {
            o["matched_client_id"] = .string(e.matchedClientId)
            o["identification_method"] = .string(e.identificationMethod)
        }
        o["method"] = .string(e.method)
        o["status_code"] = .int(e.statusCode)
        if includeIdentity { o["src_ip"] = .string(e.srcIp) }
        o["environment"] = .string(e.environment)
        o["sandbox"] = .bool(mode.isSandbox)
        o["ts"] = time(e.ts)
        o["path"] = .string(e.path)
        o["latency_ms"] = .int(e.latencyMs)
        o["upstream_latency_ms"] = .int(e.upstreamLatencyMs)
        o["upstream_host"] = .string(e.upstreamHost)
        o["upstream_status"] = .int(e.upstreamStatus)
        o["error"] = .string(e.error)
        o["rate_limited"] = .bool(e.rateLimited)
        o["signature_valid"] = .bool(e.signatureValid)
        o["proxy_mode"] = .string(e.proxyMode)
        o["client_origin"] = .string(e.clientOrigin)
        o["cursor"] = .string(String(e.seq))
        return .object(o)
    }
}
