import KnoxCore

/// One input of a form.
public struct FormField: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case text
        /// Typed but never shown or echoed (secret values).
        case masked
        /// One of fixed options: (label shown, value sent).
        case choice([ChoiceOption])
        case toggle
        /// Several lines (headers as `Name: value`, JSON).
        case multiline
    }

    /// The request field it feeds (also where the API's errors are matched).
    public let name: String
    public let label: String
    public let kind: Kind
    public var value: String
    public var cursor: Int
    public let help: String

    public init(_ name: String, _ label: String, _ kind: Kind = .text, value: String = "", help: String = "") {
        self.name = name
        self.label = label
        self.kind = kind
        self.value = value
        cursor = value.count
        self.help = help
    }
}

public struct ChoiceOption: Sendable, Equatable {
    public let label: String
    public let value: String

    public init(_ label: String, _ value: String) {
        self.label = label
        self.value = value
    }
}

/// What a form creates or changes.
public enum FormKind: Sendable, Equatable {
    case route(id: String?)
    case routeEnvironment(routeId: String)
    case secret
    case secretValue(id: String, name: String)
    case client(id: String?)
    case environment(id: String?)
    case apiKey
    case assignClient(routeId: String)

    public var title: String {
        switch self {
        case .route(let id): id == nil ? "New route" : "Edit route"
        case .routeEnvironment: "Environment override"
        case .secret: "New secret"
        case .secretValue(_, let name): "New value for \(name)"
        case .client(let id): id == nil ? "New client" : "Edit client"
        case .environment(let id): id == nil ? "New environment" : "Edit environment"
        case .apiKey: "New API key"
        case .assignClient: "Assign a client"
        }
    }
}

/// An open form: its fields, which one has focus, and the API's errors by field.
public struct FormState: Sendable, Equatable {
    public var kind: FormKind
    public var fields: [FormField]
    public var focus = 0
    public var dirty = false
    public var errors: [String: String] = [:]
    /// An error about the whole request (no field named).
    public var generalError: String?
    public var submitting = false

    public init(kind: FormKind, fields: [FormField]) {
        self.kind = kind
        self.fields = fields
    }

    public func value(_ name: String) -> String { fields.first { $0.name == name }?.value ?? "" }

    /// Which form field an API error's `field` belongs to (`inject_headers_json.Authorization` → `inject_headers_json`).
    public func fieldName(for apiField: String?) -> String? {
        guard let apiField else { return nil }
        return fields.map(\.name).sorted { $0.count > $1.count }.first {
            apiField == $0 || apiField.hasPrefix($0 + ".") || apiField.hasPrefix($0 + "[")
        }
    }
}

/// Options the forms offer, from the current mode's data.
public struct FormContext: Sendable, Equatable {
    public var environments: [String] = [Environment.production]
    public var secrets: [(name: String, id: String)] = []
    public var clients: [(name: String, id: String)] = []

    public init() {}

    public static func == (a: FormContext, b: FormContext) -> Bool {
        a.environments == b.environments && a.secrets.map(\.id) == b.secrets.map(\.id)
            && a.clients.map(\.id) == b.clients.map(\.id)
    }
}

/// A form could not be turned into a request (a line without `:`, text that is not JSON…).
public struct FormInputError: Error, Equatable {
    public let field: String
    public let message: String
}
