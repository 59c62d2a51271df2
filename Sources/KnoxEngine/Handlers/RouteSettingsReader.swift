import KnoxCore
import KnoxDataPlane

/// Reads the per-environment settings fields of a route body into `RouteSettings`, checking each one.
///
/// Absent fields leave the target untouched; `null` clears a field that may be empty (on an override row, that
/// means "inherit the base value").
struct RouteSettingsReader {
    /// Every settings field a body may carry.
    static let fields: Set<String> = [
        "target_base_url", "inject_headers_json", "inject_body_json", "injection_rules", "ip_allowlist",
        "require_signature", "signature_tolerance_sec", "signing_secret_id", "rate_limit_enabled",
        "rate_limit_requests", "rate_limit_window_sec", "rate_limit_burst", "allowed_methods",
        "http_method_restrictions_enabled", "method_configs", "use_method_specific_configs", "payload_structure",
        "upstream_timeout_sec", "intercept_enabled", "callable_secrets", "allow_encoded_slashes",
    ]

    static var forbiddenInjectedHeaders: Set<String> { InjectableHeaders.framing }
    static var reservedInjectedHeaders: Set<String> { InjectableHeaders.reserved }

    public static func isUninjectable(_ name: String) -> Bool { InjectableHeaders.isUninjectable(name) }

    let reader: FieldReader
    /// True for the base environment's row, where nothing may be left unset.
    let isBase: Bool
    /// This process's listeners: a target that reaches one of them is refused.
    var ownListeners: OwnListeners? = nil

    /// A refusal for a setting that is accepted by the API's shape but not carried out yet: saying yes would
    /// promise something the data plane does not do.
    static func notSupported(_ field: String, _ what: String) -> ApiError {
        ApiError.invalid(field, "is not supported yet (\(what)); leave it out or send its default")
    }

    func apply(to s: inout RouteSettings) throws(ApiError) {
        switch try reader.string("target_base_url") {
        case .absent: break
        case .null:
            if isBase { throw ApiError.invalid(reader.name("target_base_url"), "is required") }
            s.targetBaseURL = nil
        case .value(let text):
            let field = reader.name("target_base_url")
            let url = try Self.upstreamURL(text, field: field)
            try Self.refuseOwnListener(url, field: field, ownListeners)
            s.targetBaseURL = url
        }
        if let rules = try reader.array("injection_rules").value, !rules.isEmpty {
            throw ApiError.invalid(
                reader.name("injection_rules"),
                "is deprecated and was never applied; send an empty array or put {{secret:NAME}} / {{secret_id:UUID}} "
                    + "placeholders in inject_headers_json, inject_body_json or the request body")
        }
        try clearable("inject_headers_json", &s.injectHeaders, base: JSONObject()) { o throws(ApiError) in
            try Self.checkHeaders(o, field: reader.name("inject_headers_json"))
        }
        try clearable("inject_body_json", &s.injectBody, base: JSONObject()) { o throws(ApiError) in
            try Self.checkBody(o, field: reader.name("inject_body_json"))
        }
        switch try reader.stringArray("ip_allowlist", maxCount: 1000) {
        case .absent: break
        case .null: s.ipAllowlist = isBase ? [] : nil
        case .value(let list): s.ipAllowlist = try Self.ipList(list, field: reader.name("ip_allowlist"))
        }
        try flag("require_signature", &s.requireSignature)
        try number("signature_tolerance_sec", &s.signatureToleranceSec, 1...86_400, base: 300)
        switch try reader.uuid("signing_secret_id") {
        case .absent: break
        case .null: s.signingSecretId = nil
        case .value(let id): s.signingSecretId = id
        }
        try flag("rate_limit_enabled", &s.rateLimitEnabled)
        try optionalNumber("rate_limit_requests", &s.rateLimitRequests, 1...1_000_000_000)
        try optionalNumber("rate_limit_window_sec", &s.rateLimitWindowSec, 1...31_536_000)
        try optionalNumber("rate_limit_burst", &s.rateLimitBurst, 1...1_000_000_000)
        switch try reader.stringArray("allowed_methods", maxCount: 16) {
        case .absent: break
        case .null: s.allowedMethods = nil
        case .value(let list): s.allowedMethods = try Self.methods(list, field: reader.name("allowed_methods"))
        }
        try methodRestrictionFlag(s)
        try unsupportedMethodConfigs()
        if try reader.bool("use_method_specific_configs").value == true {
            throw Self.notSupported(
                reader.name("use_method_specific_configs"), "per-method configurations are not applied")
        }
        switch try reader.objectField("payload_structure") {
        case .absent: break
        case .null: s.payloadStructure = nil
        case .value(let o): s.payloadStructure = Self.structure(of: o)
        }
        try number("upstream_timeout_sec", &s.upstreamTimeoutSec, 1...300, base: 30)
        if try reader.bool("intercept_enabled").value == true {
            throw Self.notSupported(reader.name("intercept_enabled"), "this gateway has no request interception")
        }
        switch try reader.stringArray("callable_secrets", maxCount: 100) {
        case .absent: break
        case .null: s.callableSecrets = isBase ? [] : nil
        case .value(let list): s.callableSecrets = try Self.secretNames(list, field: reader.name("callable_secrets"))
        }
        try flag("allow_encoded_slashes", &s.allowEncodedSlashes)
    }

    /// `http_method_restrictions_enabled` says whether `allowed_methods` is enforced, and it is whenever it is set:
    /// the flag is accepted when it says so, and shown from `allowed_methods` (never stored on its own).
    private func methodRestrictionFlag(_ s: RouteSettings) throws(ApiError) {
        guard let on = try reader.bool("http_method_restrictions_enabled").value else { return }
        let key = reader.name("http_method_restrictions_enabled")
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
    private func unsupportedMethodConfigs() throws(ApiError) {
        let key = reader.name("method_configs")
        switch reader.object["method_configs"] {
        case nil, .null?: return
        case .array(let items)? where items.isEmpty: return
        case .object(let o)? where o.isEmpty: return
        case .array?, .object?:
            throw Self.notSupported(key, "per-method targets, headers and signature rules are not applied")
        case let other?:
            throw ApiError.invalid(key, "must be an array or an object (got \(other.typeName))")
        }
    }

    /// Secret names (normalized, as `{{secret:name}}` finds them) or ids, each once.
    static func secretNames(_ list: [String], field: String) throws(ApiError) -> [String] {
        var out: [String] = []
        for (i, text) in list.enumerated() {
            let trimmed = text.trimmingASCIIWhitespace()
            let entry: String
            if Identifier.isUUID(trimmed) {
                entry = trimmed.lowercased()
            } else {
                guard let name = SecretName.normalize(trimmed) else {
                    throw ApiError.invalid("\(field)[\(i)]", "must be a secret name or id (got \"\(text.prefix(64))\")")
                }
                entry = name
            }
            if !out.contains(entry) { out.append(entry) }
        }
        return out
    }

    /// Refuses a target that would reach one of this gateway's own listeners (checked again when connecting, for
    /// names only known then).
    static func refuseOwnListener(_ url: String, field: String, _ listeners: OwnListeners?) throws(ApiError) {
        guard let listeners, let parsed = try? UpstreamURL.parse(url).get(),
            let own = listeners.listener(reachedBy: parsed.host, port: parsed.port)
        else { return }
        throw ApiError.refused(
            field, "reaches this gateway's own listener \(own); a route cannot target KnoxCall itself (it would loop)",
            .operatorPolicy)
    }

    /// Applies the per-environment `enabled` switch (only override bodies carry it; a route's own `enabled` is
    /// a route field).
    func applyEnvironmentEnabled(to s: inout RouteSettings) throws(ApiError) {
        try flag("enabled", &s.enabled)
    }

    // MARK: - Field kinds

    private func flag(_ key: String, _ target: inout Bool?) throws(ApiError) {
        switch try reader.bool(key) {
        case .absent: break
        case .null:
            if isBase { throw ApiError.invalid(reader.name(key), "must be true or false (got null)") }
            target = nil
        case .value(let b): target = b
        }
    }

    private func number(_ key: String, _ target: inout Int?, _ range: ClosedRange<Int>, base: Int) throws(ApiError) {
        switch try reader.int(key, in: range) {
        case .absent: break
        case .null: target = isBase ? base : nil
        case .value(let v): target = v
        }
    }

    private func optionalNumber(_ key: String, _ target: inout Int?, _ range: ClosedRange<Int>) throws(ApiError) {
        switch try reader.int(key, in: range) {
        case .absent: break
        case .null: target = nil
        case .value(let v): target = v
        }
    }

    private func clearable(
        _ key: String, _ target: inout JSONObject?, base: JSONObject, check: (JSONObject) throws(ApiError) -> JSONObject
    ) throws(ApiError) {
        switch try reader.objectField(key) {
        case .absent: break
        case .null: target = isBase ? base : nil
        case .value(let o): target = try check(o)
        }
    }

    // MARK: - Checks shared with other readers

    static func upstreamURL(_ text: String, field: String) throws(ApiError) -> String {
        // Counted as sent, spaces around it included, as the document's maxLength counts.
        guard text.unicodeScalars.count <= 2048 else { throw ApiError.invalid(field, "is longer than 2048 characters") }
        switch UpstreamURL.parse(text.trimmingASCIIWhitespace()) {
        case .success(let url): return url.description
        case .failure(let e): throw ApiError.invalid(field, e.reason)
        }
    }

    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 256
            && name.utf8.allSatisfy { c in
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
                    || "!#$%&'*+-.^_`|~".utf8.contains(c)
            }
    }

    static func checkHeaders(_ o: JSONObject, field: String) throws(ApiError) -> JSONObject {
        guard o.count <= 100 else { throw ApiError.invalid(field, "must have at most 100 headers") }
        for (name, value) in o {
            guard isToken(name) else { throw ApiError.invalid("\(field).\(name)", "is not a valid header name") }
            guard !forbiddenInjectedHeaders.contains(name.lowercased()) else {
                throw ApiError.refused(
                    "\(field).\(name)", "cannot be injected: it controls the connection or message framing",
                    .reservedName)
            }
            guard !isUninjectable(name) else {
                throw ApiError.refused(
                    "\(field).\(name)",
                    "cannot be injected: KnoxCall sets or reads this header itself on the way through",
                    .reservedName)
            }
            guard let text = value.stringValue else {
                throw ApiError.invalid("\(field).\(name)", "must be a string (got \(value.typeName))")
            }
            guard !text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw ApiError.invalid("\(field).\(name)", "must not contain CR, LF or NUL")
            }
            guard text.unicodeScalars.count <= 8192 else {
                throw ApiError.invalid("\(field).\(name)", "must be at most 8192 characters")
            }
        }
        return o
    }

    static func checkBody(_ o: JSONObject, field: String) throws(ApiError) -> JSONObject {
        guard JSONValue.object(o).serialized().utf8.count <= 65_536 else {
            throw ApiError.invalid(field, "must be at most 64 KiB as JSON")
        }
        return o
    }

    static func ipList(_ list: [String], field: String) throws(ApiError) -> [String] {
        var out: [String] = []
        for (i, text) in list.enumerated() {
            let canonical = try ipRange(text, field: "\(field)[\(i)]")
            if !out.contains(canonical) { out.append(canonical) }
        }
        return out
    }

    /// Parses one address or CIDR range into canonical text, or explains what is wrong.
    static func ipRange(_ text: String, field: String) throws(ApiError) -> String {
        switch IPRange.parse(text.trimmingASCIIWhitespace()) {
        case .success(let range): return range.unmapped.description
        case .failure(.malformed):
            throw ApiError.invalid(field, "\"\(text.prefix(64))\" is not an IPv4/IPv6 address or CIDR range")
        case .failure(.hostBitsSet(let suggestion)):
            throw ApiError.refused(
                field, "\"\(text.prefix(64))\" has host bits set beyond its prefix; did you mean \(suggestion)?",
                .notCanonical)
        }
    }

    static func methods(_ list: [String], field: String) throws(ApiError) -> [String] {
        guard !list.isEmpty else { throw ApiError.invalid(field, "must list at least one method, or be null for all") }
        var out: [String] = []
        for (i, m) in list.enumerated() {
            let upper = m.uppercased()
            guard HTTPMethodName.all.contains(upper) else {
                throw ApiError.invalid(
                    "\(field)[\(i)]", "\"\(m.prefix(16))\" is not one of \(HTTPMethodName.all.joined(separator: ", "))")
            }
            if !out.contains(upper) { out.append(upper) }
        }
        return out
    }

    /// The structure of a sample body: same keys and nesting, values replaced by type placeholders, so that no
    /// sample value (which may be sensitive) is kept.
    static func structure(of o: JSONObject) -> JSONObject {
        func walk(_ v: JSONValue) -> JSONValue {
            switch v {
            case .null: .null
            case .bool: "<boolean>"
            case .number: "<number>"
            case .string: "<string>"
            case .array(let items): .array(items.map(walk))
            case .object(let inner): .object(JSONObject(pairs: inner.map { ($0.key, walk($0.value)) }))
            }
        }
        return JSONObject(pairs: o.map { ($0.key, walk($0.value)) })
    }
}
