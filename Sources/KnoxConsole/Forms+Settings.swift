import KnoxCore

extension FormField {
    /// The form field of a route setting: its label, hint and kind from the setting's descriptor, its text from the
    /// route as the API shows it (the setting's default on a new route).
    init(setting: SettingField, row: JSONValue?) {
        let value = row?[setting.name] ?? setting.wire(RouteSettings.baseDefaults)
        let text: String
        let kind: Kind
        switch setting.shape {
        case .headers:
            kind = .multiline
            text = (value.objectValue ?? JSONObject()).map { "\($0.key): \($0.value.stringValue ?? "")" }
                .joined(separator: "\n")
        case .map:
            kind = .multiline
            text = value.objectValue?.isEmpty == false ? value.prettySerialized() : ""
        case .list:
            kind = .text
            text = (value.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")
        case .boolean, .onlyFalse:
            kind = .toggle
            text = value.boolValue == true ? "true" : "false"
        default:
            kind = .text
            switch value {
            case .string(let s): text = s
            case .number(let n): text = n.literal
            default: text = setting.console.formDefault ?? ""
            }
        }
        self.init(setting.name, setting.console.label, kind, value: text, help: setting.console.formHelp ?? "")
    }
}

extension FormField {
    /// The form field of a resource's field: label and hint from its descriptor, kind from its input schema (a
    /// boolean toggles, an enum is a choice), text from the resource as the API shows it (or the form default).
    init<Root>(resource field: ResourceField<Root>, row: JSONValue?) {
        let console = field.console
        let schema = field.inputSchema
        let values = schema?["enum"]?.arrayValue?.compactMap(\.stringValue)
        let isBoolean = schema?["type"] == "boolean" || schema?["type"]?.arrayValue?.contains("boolean") == true
        let kind: Kind =
            if let values {
                .choice(
                    values.sorted { ($0 == console?.formDefault ? 0 : 1) < ($1 == console?.formDefault ? 0 : 1) }
                        .map { ChoiceOption($0, $0) })
            } else if isBoolean { .toggle } else { .text }
        let text: String =
            switch row?[field.name] {
            case .string(let s)?: s
            case .bool(let b)?: b ? "true" : "false"
            case .number(let n)?: n.literal
            default: console?.formDefault ?? ""
            }
        self.init(field.name, console?.label ?? field.name, kind, value: text, help: console?.formHelp ?? "")
    }
}

extension RouteSettings {
    /// The descriptor of the setting named `name` (a name the console uses; every one exists).
    static func field(_ name: String) -> SettingField {
        guard let field = fields.first(where: { $0.name == name }) else {
            preconditionFailure("no route setting named \(name)")
        }
        return field
    }

    /// The descriptor of `name` when it is a route setting.
    static func setting(named name: String) -> SettingField? { fields.first { $0.name == name } }
}

extension FormState {
    /// The JSON a route setting's text stands for, by the setting's shape. Only input formats are checked here (a
    /// header line needs a `:`, body fields must be JSON); every rule about the values is the API's.
    static func settingValue(_ setting: SettingField, _ text: String, isOverride: Bool) throws(FormInputError)
        -> JSONValue?
    {
        switch setting.shape {
        case .headers:
            var headers = JSONObject()
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
                guard let colon = line.firstIndex(of: ":") else {
                    throw FormInputError(field: setting.name, message: "line \(i + 1): write Name: value")
                }
                headers[line[..<colon].trimmingASCIIWhitespace()] = .string(
                    line[line.index(after: colon)...].trimmingASCIIWhitespace())
            }
            // An override's empty headers inherit the base; a route's empty headers clear them.
            return isOverride && headers.isEmpty ? nil : .object(headers)
        case .map:
            if text.trimmingASCIIWhitespace().isEmpty { return isOverride ? nil : .object([:]) }
            guard case .object(let body)? = try? JSONValue.parse(text) else {
                throw FormInputError(
                    field: setting.name, message: "must be a JSON object such as {\"key\": \"{{secret:NAME}}\"}")
            }
            return .object(body)
        case .list:
            let items = text.split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
            // A list whose default is "unset" (allowed_methods: every method) is cleared by null, not [].
            if items.isEmpty && setting.wire(RouteSettings.baseDefaults).isNull { return .null }
            return .array(items.map(JSONValue.string))
        case .integer:
            return text.trimmingASCIIWhitespace().isEmpty ? .null : number(text)
        default:
            return nil
        }
    }
}
