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
            let signing = context.secrets.first { $0.id == v("signing_secret_id") }?.name ?? ""
            fields = [FormField("name", "Name", value: v("name"), help: "Display name; the slug is derived from it")]
            if id == nil {
                fields.append(FormField("slug", "Slug", help: "Optional: a-z 0-9 -, never changed later"))
            }
            fields.append(FormField(setting: RouteSettings.field("target_base_url"), row: row))
            if id == nil {
                fields.append(
                    FormField(
                        "base_environment", "Base environment", environments(context),
                        value: context.environments.first ?? "production"))
            }
            // The settings a route form offers: those with a form hint in their descriptor, in its order.
            fields += RouteSettings.fields.filter { $0.console.formHelp != nil && $0.name != "target_base_url" }.map {
                FormField(setting: $0, row: row)
            }
            fields += [
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
            // The fields with a form hint, in the descriptor's order; a new client is enabled (no toggle yet).
            fields = Client.fields.filter { $0.console?.formHelp != nil && (id != nil || $0.name != "enabled") }.map {
                FormField(resource: $0, row: row)
            }
        case .environment(let id):
            // The fields with a form hint, in the order of the pane's columns and then the others in the descriptor's
            // (so the colour comes before the description); the name, which no update takes, on a new one only.
            let shown = Environment.fields.filter { $0.console?.formHelp != nil && (id == nil || $0.onUpdate != .none) }
            func position(_ i: Int) -> Int { shown[i].console?.column?.position ?? Int.max }
            fields = shown.indices.sorted { (position($0), $0) < (position($1), $1) }.map {
                FormField(resource: shown[$0], row: row)
            }
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
        let isOverride: Bool
        let isRoute: Bool
        switch kind {
        case .route: (isRoute, isOverride) = (true, false)
        case .routeEnvironment: (isRoute, isOverride) = (true, true)
        default: (isRoute, isOverride) = (false, false)
        }
        for field in fields {
            let text = field.value
            // A route setting's text, by its descriptor's shape (the rate limit pair is read together below).
            if isRoute, field.kind != .toggle, !field.name.hasPrefix("rate_limit_"),
                let setting = RouteSettings.setting(named: field.name),
                let value = try Self.settingValue(setting, text, isOverride: isOverride)
            {
                o[field.name] = value
                continue
            }
            switch (kind, field.name) {
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
