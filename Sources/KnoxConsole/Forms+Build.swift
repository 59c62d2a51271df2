import KnoxCore

extension FormState {
    static let yesNo = [ChoiceOption("yes", "true"), ChoiceOption("no", "false")]

    static func environments(_ context: FormContext, selected: String? = nil) -> FormField.Kind {
        .choice(context.environments.map { ChoiceOption($0, $0) })
    }

    /// A new or edit form for `kind`, prefilled from `row` (the resource as the API shows it) when editing.
    public static func make(_ kind: FormKind, row: JSONValue? = nil, context: FormContext) -> FormState {
        func v(_ key: String) -> String {
            guard let value = row?[key] else { return "" }
            switch value {
            case .string(let s): return s
            case .number(let n): return n.literal
            case .bool(let b): return b ? "true" : "false"
            default: return ""
            }
        }
        var fields: [FormField]
        switch kind {
        case .route(let id):
            let headers =
                row?["inject_headers_json"]?.objectValue.map { o in
                    o.map { "\($0.key): \($0.value.stringValue ?? "")" }.joined(separator: "\n")
                } ?? ""
            let body =
                row?["inject_body_json"].flatMap { $0.objectValue?.isEmpty == false ? $0.prettySerialized() : nil }
                ?? ""
            let signing = context.secrets.first { $0.id == v("signing_secret_id") }?.name ?? ""
            fields = [FormField("name", "Name", value: v("name"), help: "Display name; the slug is derived from it")]
            if id == nil {
                fields.append(FormField("slug", "Slug", help: "Optional: a-z 0-9 -, never changed later"))
            }
            fields += [
                FormField(
                    "target_base_url", "Target URL", value: v("target_base_url"), help: "https://api.example.com/v1")
            ]
            if id == nil {
                fields.append(
                    FormField(
                        "base_environment", "Base environment", environments(context),
                        value: context.environments.first ?? "production"))
            }
            fields += [
                FormField(
                    "inject_headers_json", "Headers", .multiline, value: headers,
                    help: "One per line: Name: value — {{secret:NAME}} completes with Tab"),
                FormField(
                    "inject_body_json", "Body fields", .multiline, value: body,
                    help: "JSON object merged into JSON bodies"),
                FormField(
                    "ip_allowlist", "IP allowlist",
                    value: row?["ip_allowlist"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? "",
                    help: "Addresses or CIDR ranges, comma-separated; empty = any"),
                FormField(
                    "allowed_methods", "Methods",
                    value: row?["allowed_methods"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? "",
                    help: "e.g. GET, POST; empty = all"),
                FormField(
                    "rate_limit_requests", "Rate limit", value: v("rate_limit_requests"),
                    help: "Requests per window; empty = no limit"),
                FormField(
                    "rate_limit_window_sec", "Window (s)",
                    value: v("rate_limit_window_sec").isEmpty ? "60" : v("rate_limit_window_sec")),
                FormField(
                    "callable_secrets", "Caller secrets",
                    value: row?["callable_secrets"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ")
                        ?? "", help: "Secrets a caller's body may name as {{secret:NAME}}; empty = none"),
                FormField(
                    "allow_encoded_slashes", "Encoded /", .toggle,
                    value: row == nil ? "false" : v("allow_encoded_slashes"),
                    help: "Let paths hold %2F, %5C (dot segments never)"),
                FormField(
                    "signing_secret", "Signing secret",
                    .choice([ChoiceOption("(none)", "")] + context.secrets.map { ChoiceOption($0.name, $0.id) }),
                    value: signing.isEmpty ? "" : (context.secrets.first { $0.name == signing }?.id ?? ""),
                    help: "Requires X-Signature when set"),
                FormField("enabled", "Enabled", .toggle, value: row == nil ? "true" : v("enabled")),
                FormField(
                    "requires_clients", "Clients only", .toggle, value: row == nil ? "false" : v("requires_clients")),
            ]
        case .routeEnvironment:
            fields = [
                FormField(
                    "environment", "Environment", environments(context),
                    value: context.environments.dropFirst().first ?? context.environments.first ?? ""),
                FormField("target_base_url", "Target URL", help: "Empty inherits the base"),
                FormField("inject_headers_json", "Headers", .multiline, help: "Empty inherits the base"),
                FormField("enabled", "Enabled", .toggle, value: "true"),
            ]
        case .secret:
            fields = [
                FormField("name", "Name", help: "Spaces become _, letters upper case"),
                FormField("value", "Value", .masked, help: "Typed, never shown"),
                FormField(
                    "environment", "Environment", environments(context),
                    value: context.environments.first ?? "production"),
            ]
        case .secretValue:
            fields = [
                FormField("value", "New value", .masked, help: "Typed, never shown"),
                FormField(
                    "environment", "Environment", environments(context),
                    value: context.environments.first ?? "production"),
            ]
        case .client(let id):
            fields = [
                FormField("name", "Name", value: v("name")),
                FormField("ip_address", "Address", value: v("ip_address"), help: "IPv4/IPv6 address or CIDR range"),
                FormField(
                    "type", "Type", .choice([ChoiceOption("server", "server"), ChoiceOption("user", "user")]),
                    value: row == nil ? "server" : v("type")),
                FormField("description", "Description", value: v("description")),
                FormField(
                    "allow_wide_range", "Wide range", .toggle, value: "false",
                    help: "Needed for a range wider than /8 (IPv4) or /32 (IPv6)"),
            ]
            if id != nil { fields.append(FormField("enabled", "Enabled", .toggle, value: v("enabled"))) }
        case .environment(let id):
            fields = []
            if id == nil { fields.append(FormField("name", "Name", help: "a-z 0-9 _ -, permanent")) }
            fields += [
                FormField("display_name", "Display name", value: v("display_name")),
                FormField("color", "Color", value: row == nil ? "#6366f1" : v("color")),
                FormField("description", "Description", value: v("description")),
            ]
        case .apiKey:
            fields = [
                FormField("name", "Name"),
                FormField(
                    "role", "Role", .choice(Role.seeded.map { ChoiceOption($0.name, $0.id) }), value: Role.readOnly.id),
                FormField("expires_in_days", "Expires (days)", value: "90", help: "1-365, or empty for never"),
            ]
        case .assignClient:
            fields = [
                FormField(
                    "client", "Client", .choice(context.clients.map { ChoiceOption($0.name, $0.id) }),
                    value: context.clients.first?.id ?? ""),
                FormField(
                    "environment", "Environment", environments(context),
                    value: context.environments.first ?? "production"),
            ]
        }
        return FormState(kind: kind, fields: fields)
    }

    /// The request body for the engine's handler. Only input formats are checked here (a header line needs a `:`,
    /// body fields must be JSON); every rule about the values is the API's, reported next to the field.
    public func body() throws(FormInputError) -> JSONObject {
        var o = JSONObject()
        let isEdit: Bool
        switch kind {
        case .route(let id), .client(let id), .environment(let id): isEdit = id != nil
        default: isEdit = false
        }
        for field in fields {
            let text = field.value
            switch (kind, field.name) {
            case (.route, "inject_headers_json"), (.routeEnvironment, "inject_headers_json"):
                var headers = JSONObject()
                for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
                    guard let colon = line.firstIndex(of: ":") else {
                        throw FormInputError(field: field.name, message: "line \(i + 1): write Name: value")
                    }
                    headers[line[..<colon].trimmingASCIIWhitespace()] = .string(
                        line[line.index(after: colon)...].trimmingASCIIWhitespace())
                }
                // An override's empty headers inherit the base; a route's empty headers clear them.
                if case .routeEnvironment = kind, headers.isEmpty { continue }
                o[field.name] = .object(headers)
            case (.route, "inject_body_json"):
                if text.trimmingASCIIWhitespace().isEmpty {
                    o[field.name] = .object([:])
                } else {
                    guard case .object(let body)? = try? JSONValue.parse(text) else {
                        throw FormInputError(
                            field: field.name, message: "must be a JSON object such as {\"key\": \"{{secret:NAME}}\"}")
                    }
                    o[field.name] = .object(body)
                }
            case (.route, "ip_allowlist"), (.route, "allowed_methods"), (.route, "callable_secrets"):
                let items = text.split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
                if field.name == "allowed_methods" && items.isEmpty {
                    o[field.name] = .null
                } else {
                    o[field.name] = .array(items.map(JSONValue.string))
                }
            case (.route, "rate_limit_requests"):
                if text.trimmingASCIIWhitespace().isEmpty {
                    o["rate_limit_enabled"] = false
                } else {
                    o["rate_limit_enabled"] = true
                    o[field.name] = Self.number(text)
                    o["rate_limit_window_sec"] = Self.number(value("rate_limit_window_sec"))
                }
            case (.route, "rate_limit_window_sec"):
                break
            case (.route, "signing_secret"):
                o["signing_secret_id"] = text.isEmpty ? .null : .string(text)
                o["require_signature"] = .bool(!text.isEmpty)
            case (.apiKey, "role"):
                o["role_ids"] = [.string(text)]
            case (.apiKey, "expires_in_days"):
                if text.trimmingASCIIWhitespace().isEmpty {
                    o["never_expires"] = true
                } else {
                    o[field.name] = Self.number(text)
                }
            case (.routeEnvironment, "environment"), (.assignClient, "client"):
                continue  // part of the path (see `ConsoleEffect.Mutation`)
            case (_, _) where field.kind == .toggle:
                o[field.name] = .bool(text == "true")
            case (.route, "slug"), (.client, "description"), (.environment, "description"):
                if !text.isEmpty || isEdit { o[field.name] = text.isEmpty ? .null : .string(text) }
            default:
                if field.kind == .masked {
                    o[field.name] = .string(text)  // secret values are exact: never trimmed
                } else if !text.isEmpty || isEdit {
                    o[field.name] = .string(text.trimmingASCIIWhitespace())
                }
            }
        }
        return o
    }

    /// A number when the text is one, else the text (the API then names the field and the problem).
    static func number(_ text: String) -> JSONValue {
        let t = text.trimmingASCIIWhitespace()
        if let n = Int(t) { return .int(n) }
        return .string(t)
    }
}
