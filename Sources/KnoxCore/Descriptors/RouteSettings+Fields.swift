extension RouteSettings {
    /// Every per-environment setting of a route, in the order a body is checked (the first field at fault is the
    /// one reported) and the document lists them.
    public static let fields: [SettingField] = [
        SettingField(
            "target_base_url", .upstreamURL(maxLength: 2048),
            "http(s) base URL without credentials, query or fragment; the caller's path and query are appended",
            console: ConsoleUse("Target URL", .upstream, form: "https://api.example.com/v1", prominent: true),
            requiredOnBase: true, sample: "https://upstream.example.com/v2",
            read: { r, isBase, s throws(ApiError) in
                switch try r.string("target_base_url") {
                case .absent: break
                case .null:
                    if isBase {
                        throw ApiError.refused(
                            r.name("target_base_url"),
                            "is required on the base environment (null clears only an override's, which then "
                                + "inherits the base)", .currentState)
                    }
                    s.targetBaseURL = nil
                case .value(let text):
                    s.targetBaseURL = try RouteSettingChecks.upstreamURL(text, field: r.name("target_base_url"))
                }
            },
            show: { .string($0.targetBaseURL) },
            overrides: { $0.targetBaseURL.map { !$0.isEmpty } ?? false },
            overlay: { base, o in if let v = o.targetBaseURL, !v.isEmpty { base.targetBaseURL = v } },
            store: { s in s.targetBaseURL.map(StoredValue.text) ?? .null },
            load: { s, v in s.targetBaseURL = v.text }),
        SettingField(
            "injection_rules", .deprecatedEmptyArray, "Deprecated: only an empty array is accepted",
            console: ConsoleUse("Injection rules", .injection), sample: .array([]),
            read: { r, _, _ throws(ApiError) in
                if let rules = try r.array("injection_rules").value, !rules.isEmpty {
                    throw ApiError.invalid(
                        r.name("injection_rules"),
                        "is deprecated and was never applied; send an empty array or put {{secret:NAME}} / "
                            + "{{secret_id:UUID}} placeholders in inject_headers_json, inject_body_json or the "
                            + "request body")
                }
            },
            show: { _ in .array([]) }),
        .object(
            "inject_headers_json", \.injectHeaders, .headers, emptyByDefault: true,
            console: ConsoleUse(
                "Headers", .injection, form: "One per line: Name: value — {{secret:NAME}} completes with Tab",
                prominent: true),
            sample: ["X-Sample": "static"], check: RouteSettingChecks.headers),
        .object(
            "inject_body_json", \.injectBody,
            .map(nullable: false), "Fields merged into a JSON request body; string values may hold placeholders",
            emptyByDefault: true,
            console: ConsoleUse(
                "Body fields", .injection, form: "JSON object merged into JSON bodies", prominent: true),
            sample: ["sample": "static"], check: RouteSettingChecks.body),
        .strings(
            "ip_allowlist", \.ipAllowlist,
            .list(.ipRange, itemDescription: "IPv4/IPv6 address or CIDR range", minItems: nil, maxItems: nil),
            maxCount: 1000, emptyByDefault: true,
            console: ConsoleUse(
                "IP allowlist", .access, form: "Addresses or CIDR ranges, comma-separated; empty = any",
                prominent: true),
            sample: ["192.0.2.0/24"], check: RouteSettingChecks.ipList),
        .strings(
            "allowed_methods", \.allowedMethods,
            .list(.httpMethod, itemDescription: nil, minItems: 1, maxItems: 16), maxCount: 16, emptyByDefault: false,
            console: ConsoleUse("Methods", .access, form: "e.g. GET, POST; empty = all", prominent: true),
            sample: ["GET", "POST"], check: RouteSettingChecks.methods),
        SettingField(
            "http_method_restrictions_enabled", .boolean,
            "True exactly when allowed_methods is set (it is enforced then)",
            console: ConsoleUse("Methods restricted", .access), sample: true,
            read: { r, isBase, s throws(ApiError) in try methodRestrictionFlag(r, isBase: isBase, s) },
            show: { .bool($0.allowedMethods != nil) },
            overlay: { base, o in
                if let v = o.httpMethodRestrictionsEnabled { base.httpMethodRestrictionsEnabled = v }
            },
            store: { s in s.httpMethodRestrictionsEnabled.map { .integer($0 ? 1 : 0) } ?? .null },
            load: { s, v in s.httpMethodRestrictionsEnabled = v.integer.map { $0 != 0 } },
            initial: { $0.httpMethodRestrictionsEnabled = false }),
        .flag(
            "require_signature", \.requireSignature, default: false,
            console: ConsoleUse("Require signature", .signature, prominent: true)),
        .number(
            "signature_tolerance_sec", \.signatureToleranceSec, 1...86_400, default: 300,
            console: ConsoleUse("Signature tolerance (s)", .signature), sample: 90),
        SettingField(
            "signing_secret_id", .uuid(nullable: true), "The string secret that keys request signatures",
            console: ConsoleUse("Signing secret", .signature, prominent: true),
            sample: "00000000-0000-4000-8000-000000000000",
            read: { r, _, s throws(ApiError) in
                switch try r.uuid("signing_secret_id") {
                case .absent: break
                case .null: s.signingSecretId = nil
                case .value(let id): s.signingSecretId = id
                }
            },
            show: { .string($0.signingSecretId) },
            overrides: { $0.signingSecretId != nil },
            overlay: { base, o in if let v = o.signingSecretId { base.signingSecretId = v } },
            store: { s in s.signingSecretId.map(StoredValue.text) ?? .null },
            load: { s, v in s.signingSecretId = v.text }),
        .flag(
            "rate_limit_enabled", \.rateLimitEnabled, default: false,
            console: ConsoleUse("Rate limit on", .limits, prominent: true)),
        .number(
            "rate_limit_requests", \.rateLimitRequests, 1...1_000_000_000, default: nil,
            "Needed when rate_limit_enabled",
            console: ConsoleUse("Rate limit", .limits, form: "Requests per window; empty = no limit", prominent: true),
            sample: 250),
        .number(
            "rate_limit_window_sec", \.rateLimitWindowSec, 1...31_536_000, default: nil,
            "Needed when rate_limit_enabled",
            console: ConsoleUse("Window (s)", .limits, form: "", formDefault: "60", prominent: true), sample: 60),
        .number(
            "rate_limit_burst", \.rateLimitBurst, 1...1_000_000_000, default: nil,
            console: ConsoleUse("Burst", .limits), sample: 5),
        SettingField(
            "method_configs", .onlyEmpty,
            "Per-method overrides: not supported yet, only empty (an empty object is taken too)",
            console: ConsoleUse("Per-method settings", .other), sample: .null,
            read: { r, _, _ throws(ApiError) in try unsupportedMethodConfigs(r) },
            show: { s in s.methodConfigs.map { .array($0.map(JSONValue.object)) } ?? .null },
            overrides: { $0.methodConfigs.map { !$0.isEmpty } ?? false },
            overlay: { base, o in if let v = o.methodConfigs, !v.isEmpty { base.methodConfigs = v } },
            store: { s in
                s.methodConfigs.map { .text(JSONValue.array($0.map(JSONValue.object)).serialized()) } ?? .null
            },
            load: { s, v in
                s.methodConfigs = v.text.flatMap { try? JSONValue.parse($0) }?.arrayValue?.compactMap(\.objectValue)
            }),
        .notYet(
            "use_method_specific_configs", \.useMethodSpecificConfigs, "Not supported yet: only false",
            refusal: "per-method configurations are not applied",
            console: ConsoleUse("Per-method settings on", .other)),
        .object(
            "payload_structure", \.payloadStructure, .map(nullable: true),
            "Structure of a sample body (values become type placeholders)", emptyByDefault: false,
            console: ConsoleUse("Payload structure", .other), sample: ["sample": "<string>"],
            check: { o, _ in RouteSettingChecks.structure(of: o) }),
        .number(
            "upstream_timeout_sec", \.upstreamTimeoutSec, 1...300, default: 30,
            console: ConsoleUse("Timeout (s)", .upstream, prominent: true), sample: 45),
        .notYet(
            "intercept_enabled", \.interceptEnabled, "Not supported yet: only false",
            refusal: "this gateway has no request interception", console: ConsoleUse("Intercept", .other)),
        .strings(
            "callable_secrets", \.callableSecrets,
            .list(.secretName, itemDescription: "A secret name or id", minItems: nil, maxItems: nil),
            "Secrets the caller's own body may refer to with {{secret:NAME}} / {{secret_id:UUID}}; empty: none",
            maxCount: 100, emptyByDefault: true,
            console: ConsoleUse(
                "Caller secrets", .injection, form: "Secrets a caller's body may name as {{secret:NAME}}; empty = none",
                prominent: true),
            sample: ["SAMPLE_SECRET"], check: RouteSettingChecks.secretNames),
        .flag(
            "allow_encoded_slashes", \.allowEncodedSlashes, default: false,
            "Whether the caller's path may hold %2F, %5C or \\ (dot segments never)",
            console: ConsoleUse("Encoded /", .access, form: "Let paths hold %2F, %5C (dot segments never)")),
        .flag(
            "enabled", \.enabled, default: true, console: ConsoleUse("Enabled", .upstream), environmentOnly: true),
    ]

    /// The names of the settings a route body may carry (`enabled` is the route's own there).
    public static let routeBodyFieldNames: Set<String> = Set(fields.filter { !$0.environmentOnly }.map(\.name))
    /// The names of the settings an environment body may carry.
    public static let environmentBodyFieldNames: Set<String> = Set(fields.map(\.name))

    /// The settings a new route's base environment starts with: each field's default.
    public static let baseDefaults: RouteSettings = {
        var s = RouteSettings()
        for field in fields { field.initial?(&s) }
        return s
    }()

    /// These settings with every field that `override` sets laid on top. Empty objects and lists in an override
    /// count as "not set", as the environments page says.
    public func overlaid(with override: RouteSettings) -> RouteSettings {
        var out = self
        for field in Self.fields { field.overlay(&out, override) }
        return out
    }

    /// The wire names of the fields an override row sets (the others inherit the base environment's values).
    public var overriddenFields: [String] { Self.fields.filter { $0.overrides(self) }.map(\.name) }

    /// `http_method_restrictions_enabled` says whether `allowed_methods` is enforced, and it is whenever it is set:
    /// the flag is accepted when it says so, and shown from `allowed_methods` (never stored on its own).
    static func methodRestrictionFlag(_ r: FieldReader, isBase: Bool, _ s: RouteSettings) throws(ApiError) {
        guard let on = try r.bool("http_method_restrictions_enabled").value else { return }
        let key = r.name("http_method_restrictions_enabled")
        if on && isBase && s.allowedMethods == nil {
            throw ApiError.refused(
                key, "true needs allowed_methods: list the methods to allow (they are enforced whenever set)",
                .fieldCombination)
        }
        if !on && s.allowedMethods != nil {
            throw ApiError.refused(
                key,
                "allowed_methods is enforced whenever it is set; send \"allowed_methods\": null to allow every method",
                .fieldCombination)
        }
    }

    /// `method_configs`: an empty array or object (nothing configured) is accepted; anything else is refused until
    /// the data plane applies per-method settings.
    static func unsupportedMethodConfigs(_ r: FieldReader) throws(ApiError) {
        let key = r.name("method_configs")
        switch r.object["method_configs"] {
        case nil, .null?: return
        case .array(let items)? where items.isEmpty: return
        case .object(let o)? where o.isEmpty: return
        case .array?, .object?:
            throw RouteSettingChecks.notSupported(
                key, "per-method targets, headers and signature rules are not applied")
        case let other?:
            throw ApiError.invalid(key, "must be an array or an object (got \(other.typeName))")
        }
    }
}
