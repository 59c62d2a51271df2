import KnoxCore

extension Schemas {
    static let resources: [(String, JSONValue)] = [
        (
            "Client",
            Schemas.object(
                Client.fields.answerSchema() + [
                    ("tenant_id", S.uuid()),
                    ("agent_version", S.string(nullable: true)), ("agent_os", S.string(nullable: true)),
                    ("agent_arch", S.string(nullable: true)), ("agent_hostname", S.string(nullable: true)),
                    ("agent_last_seen", S.time(nullable: true)), ("agent_mode", S.string(nullable: true)),
                    (
                        "route_assignments",
                        S.array(
                            S.object(["route_id": S.uuid(), "route_name": S.string(), "environment_name": S.string()]),
                            "Only on GET /v1/clients/{id}")
                    ),
                ],
                required: Client.fields.answerSchema().map(\.0) + ["tenant_id"])
        ),
        ("ClientCreate", client(update: false)),
        ("ClientUpdate", client(update: true)),
        (
            "Environment",
            Schemas.object(Environment.fields.answerSchema() + [("tenant_id", S.uuid()), ("sandbox", S.boolean())])
        ),
        ("EnvironmentCreate", environment(update: false)),
        ("EnvironmentUpdate", environment(update: true)),
        ("ApiKey", apiKey(created: false)),
        ("ApiKeyCreated", apiKey(created: true)),
        (
            "ApiKeyCreate",
            S.with(
                S.object(
                    [
                        "name": S.text(maxLength: 200),
                        "rate_limit_requests": S.integer(
                            "With rate_limit_window_sec", nullable: true, minimum: 1, maximum: 10_000_000),
                        "rate_limit_window_sec": S.integer(
                            "With rate_limit_requests", nullable: true, minimum: 1, maximum: 86_400),
                        "expires_in_days": S.integer(
                            "At most one of expires_in_days, expires_at, never_expires", minimum: 1, maximum: 365),
                        "expires_at": S.time("In the future, at most 365 days away"),
                        "never_expires": S.only(true, "Not for access keys; leave it out for the 90-day default"),
                        "role_ids": S.array(
                            S.string("A seeded role id or slug (GET /v1/roles)"), nullable: true, maxItems: 10),
                        "key_type": S.string(
                            "standard or access_key on the live API, test on the sandbox API", nullable: true,
                            values: ["standard", "access_key", "test"]),
                        "scopes": S.array(
                            S.string(values: Schemas.knownScopes), nullable: true, minItems: 1, maxItems: 50,
                            "Access keys only, and required there"),
                        "require_dpop": S.boolean(nullable: true),
                        "redirect_uris": S.array(
                            S.string(
                                "https URI, or http to a loopback address (127.0.0.1, [::1], localhost); no fragment",
                                maxLength: 2000, pattern: TextRule.redirectURI),
                            nullable: true, maxItems: 10, "OAuth authorization-code redirect URIs"),
                    ], required: ["name"], closed: true),
                [
                    // The rate limit's two numbers go together, and a key has at most one way to say when it expires.
                    "dependentRequired": [
                        "rate_limit_requests": ["rate_limit_window_sec"],
                        "rate_limit_window_sec": ["rate_limit_requests"],
                    ],
                    "not": [
                        "anyOf": [
                            ["required": ["expires_in_days", "expires_at"]],
                            ["required": ["expires_in_days", "never_expires"]],
                            ["required": ["expires_at", "never_expires"]],
                        ]
                    ],
                ])
        ),
        (
            "Role",
            S.object([
                "id": S.uuid(), "name": S.string(), "slug": S.string(), "description": S.string(),
                "applies_to": S.array(S.string()), "is_default": S.boolean(), "seeded": S.boolean(),
            ])
        ),
        (
            "Account",
            S.object([
                "id": S.uuid(), "slug": S.string(), "name": S.string(), "region": S.string(),
                "subscription_plan": S.string(), "subscription_status": S.string(),
                "trial_start_at": S.time(nullable: true),
                "trial_end_at": S.time(nullable: true), "subscription_current_period_start": S.time(nullable: true),
                "subscription_current_period_end": S.time(nullable: true),
                "subscription_cancel_at": S.time(nullable: true),
                "created_at": S.time(), "sandbox": S.boolean(), "mode": S.string(values: ["live", "test"]),
            ])
        ),
        (
            "AccountUsage",
            S.object([
                "billing_period": S.object([
                    "year": S.integer(), "month": S.integer(), "start": S.time(), "end": S.time(),
                ]),
                "api_calls": S.object([
                    "used": S.integer(), "limit": S.integer(nullable: true), "percentage": S.integer(),
                ]),
                "resources": S.map(), "plan": S.string(), "status": S.string(),
            ])
        ),
    ]

    static func apiKey(created: Bool) -> JSONValue {
        var props = ApiKey.fields.answerSchema()
        if created {
            props += [("api_key", S.string("The key; returned only here, once")), ("message", S.string())]
        }
        return object(props)
    }

    static let logs: [(String, JSONValue)] = [
        (
            "AuditLogEntry",
            S.object([
                "id": S.uuid(), "action": S.string("Dotted, e.g. route.created"), "resource_type": S.string(),
                "resource_id": S.string(nullable: true),
                "details": S.map("Always carries sandbox; never a secret value"),
                "ip_address": S.string(nullable: true), "actor": S.string("api_key:<id>, console or cli"),
                "api_key_id": S.uuid(nullable: true), "created_at": S.time(), "details_redacted": S.boolean(),
            ])
        ),
        (
            "RequestLog",
            S.object(
                [
                    "id": S.string("Decimal string"), "request_id": S.string(), "tenant_id": S.uuid(),
                    "route_id": S.uuid(nullable: true), "matched_client_id": S.uuid(nullable: true),
                    "identification_method": S.string(nullable: true), "method": S.string(),
                    "status_code": S.integer(nullable: true), "src_ip": S.string(nullable: true),
                    "environment": S.string(nullable: true), "sandbox": S.boolean(), "ts": S.time(), "path": S.string(),
                    "latency_ms": S.integer(nullable: true), "upstream_latency_ms": S.integer(nullable: true),
                    "upstream_host": S.string(nullable: true), "upstream_status": S.integer(nullable: true),
                    "error": S.string(nullable: true), "rate_limited": S.boolean(),
                    "signature_valid": S.boolean(nullable: true),
                    "proxy_mode": S.string(), "client_origin": S.string(), "cursor": S.string(),
                ],
                required: [
                    "id", "request_id", "tenant_id", "route_id", "method", "status_code", "environment", "sandbox",
                    "ts",
                    "path", "latency_ms", "upstream_host", "error", "rate_limited", "proxy_mode", "client_origin",
                    "cursor",
                ])
        ),
    ]

    static func client(update: Bool) -> JSONValue {
        let (properties, required) = Client.fields.bodySchema(create: !update)
        return Schemas.object(properties, required: required, closed: true, minProperties: update ? 1 : nil)
    }

    /// The name is the environment's identity and permanent, so it is part of a create only (`Environment.fields`).
    static func environment(update: Bool) -> JSONValue {
        let (properties, required) = Environment.fields.bodySchema(create: !update)
        return Schemas.object(properties, required: required, closed: true, minProperties: update ? 1 : nil)
    }

    /// Every scope an access key may carry: the known permissions and the wildcards that cover at least one.
    static let knownScopes: [String] = {
        let known = Role.knownPermissions.compactMap(Permission.init)
        var resources = ["*"]
        var actions = ["*"]
        for p in known {
            if !resources.contains(p.resource) { resources.append(p.resource) }
            if !actions.contains(p.action) { actions.append(p.action) }
        }
        var out: [String] = []
        for r in resources {
            for a in actions {
                let p = Permission(r, a)
                if known.contains(where: p.covers) { out.append(p.description) }
            }
        }
        return out
    }()
}
