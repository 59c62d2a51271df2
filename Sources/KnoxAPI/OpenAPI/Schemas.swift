import KnoxCore

/// The schema catalogue: one entry per wire shape (see `Wire` in the engine).
enum Schemas {
    static var all: JSONObject {
        var o = JSONObject()
        for (name, schema) in common + routes + secrets + resources + logs { o[name] = schema }
        return o
    }

    /// The answer schema of every route setting, from its descriptor (`RouteSettings.fields`).
    static var settingsProperties: [(key: String, value: JSONValue)] {
        RouteSettings.fields.filter { !$0.environmentOnly }.map { ($0.name, setting($0)) }
    }

    /// The request schema of every route setting in a route's own body (its base environment).
    static var settingsInputProperties: [(key: String, value: JSONValue)] {
        RouteSettings.fields.filter { !$0.environmentOnly }.map { ($0.name, settingInput($0, onBase: true)) }
    }

    /// What `SettingField.read` accepts, exactly: the setting's value or null (`SettingField.requiredOnBase`). An
    /// environment body (`onBase` false) may name the base environment too: there a null the base refuses is
    /// refused with `error.reason` `current_state`.
    static func settingInput(_ field: SettingField, onBase: Bool) -> JSONValue {
        onBase && field.requiredOnBase ? setting(field) : S.orNull(setting(field))
    }

    /// The schema of one setting's value, as answers show it.
    static func setting(_ field: SettingField) -> JSONValue {
        let d = field.description
        switch field.shape {
        case .upstreamURL(let maxLength):
            return S.string(d, maxLength: maxLength, pattern: TextRule.token(TextRule.httpURL))
        case .boolean: return S.boolean(d)
        case .integer(let range, let nullable):
            return S.integer(d, nullable: nullable, minimum: range.lowerBound, maximum: range.upperBound)
        case .uuid(let nullable): return S.uuid(d, nullable: nullable)
        case .headers: return S.headers()
        case .map(let nullable): return S.map(d, nullable: nullable)
        case .list(let item, let itemDescription, let minItems, let maxItems):
            let items: JSONValue =
                switch item {
                case .ipRange: S.ipRange(itemDescription)
                case .httpMethod: S.string(itemDescription, values: HTTPMethodName.all)
                case .secretName: S.secretName(itemDescription)
                }
            return S.array(items, nullable: true, minItems: minItems, maxItems: maxItems, d)
        case .deprecatedEmptyArray:
            var o: JSONObject = ["type": ["array", "null"], "maxItems": 0]
            if let d { o["description"] = .string(d) }
            return .object(o)
        case .onlyEmpty: return S.emptyArray(d ?? "Not supported yet: only empty")
        case .onlyFalse: return S.only(false, d)
        }
    }

    static let common: [(String, JSONValue)] = [
        ("Meta", S.object(["request_id": S.string()], required: ["request_id"])),
        (
            "PageMeta",
            S.object([
                "total": S.integer(), "page": S.integer(), "per_page": S.integer(), "total_pages": S.integer(),
                "request_id": S.string(),
            ])
        ),
        (
            "FeedMeta",
            S.object([
                "next_cursor": S.string("Opaque; null when drained for now", nullable: true), "limit": S.integer(),
                "delivery": S.string(values: ["at_least_once"]), "dedupe_on": S.string(),
                "watermark_seconds": S.integer(),
                "request_id": S.string(),
            ])
        ),
        (
            "Error",
            S.object([
                "error": S.object(
                    [
                        "type": S.string(values: ErrorType.allCases.map(\.rawValue)), "message": S.string(),
                        "request_id": S.string(), "field": S.string("The field, parameter or header at fault"),
                        "reason": S.string(
                            "Present only when a request that matches this document was refused for a rule a schema "
                                + "cannot state: what exists in this mode (unknown_reference), what may change "
                                + "(immutable, current_state), config.toml (operator_policy), fields that go together "
                                + "(field_combination), time (time_window), the mode (other_mode), one canonical "
                                + "spelling (not_canonical), placeholder syntax (invalid_placeholder) and header names "
                                + "KnoxCall owns (reserved_name)",
                            values: RefusalReason.allCases.map(\.rawValue)),
                    ], required: ["type", "message", "request_id"])
            ])
        ),
        ("Deleted", S.object(["deleted": S.boolean()])),
        ("Revoked", S.object(["revoked": S.boolean()])),
        ("OpenAPIDocument", ["type": "object"]),
    ]

    static var routes: [(String, JSONValue)] {
        var routeProps: [(String, JSONValue)] = [
            ("tenant_id", S.uuid()), ("sandbox", S.boolean()),
            ("methods", S.array(S.string(), nullable: true, "Alias of allowed_methods")),
        ]
        for (k, v) in settingsProperties where k != "target_base_url" { routeProps.append((k, v)) }
        routeProps += Route.fields.answerSchema()
        routeProps += [
            ("target_base_url", S.string(format: "uri", nullable: true)),
            ("favicon_url", S.string(nullable: true)), ("favicon_updated_at", S.time(nullable: true)),
            ("favicon_data", S.string(nullable: true)), ("environment_override_count", S.integer()),
            ("configured_environments", S.array(S.string())),
        ]
        var envProps: [(String, JSONValue)] = [
            ("id", S.uuid()), ("route_id", S.uuid()), ("environment_name", S.string()),
            ("is_base_environment", S.boolean()),
        ]
        for field in RouteSettings.fields where field.name != "target_base_url" {
            envProps.append((field.name, setting(field)))
        }
        envProps += [
            ("target_base_url", S.string(format: "uri", nullable: true)),
            ("egress_server_id", S.string(nullable: true)),
            ("requires_clients", S.boolean()),
            ("mtls_certificate_id", S.uuid(nullable: true)),
            ("data_plane_node_id", S.string(nullable: true)),
            ("overridden_fields", S.array(S.string(), "Fields this environment sets; the rest inherit the base")),
            ("created_at", S.time()), ("updated_at", S.time()),
        ]
        var createProps = Route.fields.bodySchema(create: true).properties
        for (k, v) in settingsInputProperties { createProps.append((k, v)) }
        var updateProps = Route.fields.bodySchema(create: false).properties
        for (k, v) in settingsInputProperties { updateProps.append((k, v)) }
        let envInputProps = RouteSettings.fields.map { ($0.name, settingInput($0, onBase: false)) }
        return [
            ("Route", object(routeProps)),
            ("RouteCreate", object(createProps, required: ["name", "target_base_url"], closed: true)),
            ("RouteUpdate", object(updateProps, required: [], closed: true, minProperties: 1)),
            ("RouteEnvironment", object(envProps)),
            ("RouteEnvironmentInput", object(envInputProps, required: [], closed: true)),
            (
                "RouteClient",
                S.object([
                    "route_id": S.uuid(), "route_name": S.string(), "client_id": S.uuid(), "client_name": S.string(),
                    "ip_address": S.string(), "client_enabled": S.boolean(), "environment_name": S.string(),
                    "created_at": S.time(),
                ])
            ),
            (
                "RouteClientInput",
                S.object(
                    ["environment": S.environmentName("The route's base environment when omitted")], required: [],
                    closed: true)
            ),
            (
                "RouteLogEntry",
                S.object([
                    "id": S.string("Decimal string"), "request_id": S.string(), "ts": S.time(),
                    "src_ip": S.string(nullable: true),
                    "method": S.string(), "path": S.string(), "status_code": S.integer(nullable: true),
                    "latency_ms": S.integer(nullable: true), "upstream_latency_ms": S.integer(nullable: true),
                    "upstream_host": S.string(nullable: true), "upstream_status": S.integer(nullable: true),
                    "error": S.string(nullable: true), "environment": S.string(nullable: true),
                    "rate_limited": S.boolean(),
                    "signature_valid": S.boolean(nullable: true), "source_ip_country": S.string(nullable: true),
                    "source_ip_city": S.string(nullable: true),
                ])
            ),
        ]
    }

    static let secrets: [(String, JSONValue)] = [
        (
            "Secret",
            S.with(
                Schemas.object(
                    Secret.fields.answerSchema() + [
                        ("environment_count", S.integer()),
                        (
                            "environments",
                            S.array(
                                S.object([
                                    "environment_name": S.string(), "value_version": S.integer(minimum: 1),
                                    "updated_at": S.time(),
                                    "expires_at_override": S.time(nullable: true),
                                ]), "Only on GET /v1/secrets/{id}")
                        ),
                        (
                            "used_by",
                            S.array(
                                S.object([
                                    "route_id": S.uuid(), "route_name": S.string(), "environment": S.string(),
                                    "field": S.string(),
                                ]), "Only on GET /v1/secrets/{id}")
                        ),
                    ],
                    required: Secret.fields.answerSchema().map(\.0) + ["environment_count"]),
                ["description": "Metadata only: a secret's value is never returned"])
        ),
        ("SecretCreate", secret(update: false)),
        ("SecretUpdate", secret(update: true)),
        (
            "SecretValueInput",
            S.object(["value": S.secretValue(), "environment": S.environmentName()], required: ["value"], closed: true)
        ),
        (
            "SecretValueResult",
            S.object([
                "id": S.uuid(), "name": S.string(), "environment": S.string(), "value_version": S.integer(minimum: 1),
            ])
        ),
        (
            "SecretOAuthToken",
            S.object([
                "access_token": S.string(), "expires_at": S.time(nullable: true), "token_type": S.string(),
                "connection_status": S.string(),
            ])
        ),
    ]

    /// A secret's create or update body, from its descriptors (`Secret.fields`); the value is write-only.
    static func secret(update: Bool) -> JSONValue {
        let (properties, required) = Secret.fields.bodySchema(create: !update)
        return Schemas.object(properties, required: required, closed: true, minProperties: update ? 1 : nil)
    }

    static func object(
        _ props: [(String, JSONValue)], required: [String]? = nil, closed: Bool = false, minProperties: Int? = nil
    )
        -> JSONValue
    {
        var p = JSONObject()
        for (k, v) in props { p[k] = v }
        var o: JSONObject = ["type": "object", "properties": .object(p)]
        let req = required ?? p.keys
        if !req.isEmpty { o["required"] = .array(req.map(JSONValue.string)) }
        if closed { o["additionalProperties"] = false }
        if let minProperties { o["minProperties"] = .int(minProperties) }
        return .object(o)
    }
}
