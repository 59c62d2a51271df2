/// One per-environment setting of a route, described once: its wire name (also its store column), how a request
/// body sets it, what the wire shows, how it is stored, what the OpenAPI document says of it and how the console
/// labels it. Everything that lists route settings (the body reader, the wire representation, `overridden_fields`,
/// the overlay of an override on the base, the store record, the document's schemas, the console's details and
/// forms) walks `RouteSettings.fields`; adding a setting means a property on `RouteSettings`, an entry there and a
/// store column (a migration), nothing else.
public struct SettingField: Sendable {
    /// The JSON name in bodies and answers, and the column of `route_environment_configs`.
    public let name: String
    /// What the OpenAPI document says a body may send (and the answer shows).
    public let shape: SettingShape
    public let description: String?
    /// Where the console shows it.
    public let console: ConsoleUse
    /// Only in environment bodies and rows (a route's own field of the same name is shown on the route).
    public let environmentOnly: Bool
    /// Null is refused on the base row. Everywhere else a body may send null for a setting: on the base row it
    /// restores the default (or clears a setting that has none), on an override it inherits the base.
    public let requiredOnBase: Bool
    /// A value the field accepts in a body, other than its default where it takes one (a setting not supported yet
    /// only takes its default): the round-trip tests send it and expect it back.
    public let sample: JSONValue

    /// Reads the field out of a body into `settings`, checking it (nothing happens when the body leaves it out).
    let read: @Sendable (_ body: FieldReader, _ isBase: Bool, _ settings: inout RouteSettings) throws(ApiError) -> Void
    /// The value the wire shows for settings that apply (the default when unset).
    let show: @Sendable (RouteSettings) -> JSONValue
    /// Whether an override row sets it (an override that does not inherits the base value).
    let overrides: @Sendable (RouteSettings) -> Bool
    /// Lays the override's value on top of the base's when the override sets it.
    let overlay: @Sendable (_ base: inout RouteSettings, _ override: RouteSettings) -> Void
    /// The column value, or nil when the field is not stored.
    let store: (@Sendable (RouteSettings) -> StoredValue)?
    let load: (@Sendable (inout RouteSettings, StoredValue) -> Void)?
    /// The value a new route's base environment starts with.
    let initial: (@Sendable (inout RouteSettings) -> Void)?

    public func read(_ body: FieldReader, isBase: Bool, into settings: inout RouteSettings) throws(ApiError) {
        try read(body, isBase, &settings)
    }
    public func wire(_ settings: RouteSettings) -> JSONValue { show(settings) }
    public func isOverridden(by override: RouteSettings) -> Bool { overrides(override) }
    public var isStored: Bool { store != nil }
    public func stored(_ settings: RouteSettings) -> StoredValue { store?(settings) ?? .null }
    public func load(_ value: StoredValue, into settings: inout RouteSettings) { load?(&settings, value) }
}

/// A value as a store column holds it: the store maps it to its own types (SQLite here, PostgreSQL later).
public enum StoredValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case bytes([UInt8])

    public var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
    public var text: String? { if case .text(let v) = self { v } else { nil } }
    public var bytes: [UInt8]? { if case .bytes(let v) = self { v } else { nil } }
}

/// The kinds of value a setting takes, as the OpenAPI document states them.
public enum SettingShape: Sendable {
    /// An http(s) base URL, at most `maxLength` characters.
    case upstreamURL(maxLength: Int)
    case boolean
    case integer(ClosedRange<Int>, nullable: Bool)
    case uuid(nullable: Bool)
    /// Header name → template.
    case headers
    /// A free-form JSON object.
    case map(nullable: Bool)
    case list(SettingItem, itemDescription: String?, minItems: Int?, maxItems: Int?)
    /// Deprecated: only an empty array (or null).
    case deprecatedEmptyArray
    /// Not supported yet: only nothing (an empty array, an empty object or null).
    case onlyEmpty
    /// Not supported yet: only false.
    case onlyFalse
}

/// The kind of the items of a list setting.
public enum SettingItem: Sendable {
    case ipRange
    case httpMethod
    case secretName
}

/// How the console shows a setting.
public struct ConsoleUse: Sendable {
    public enum Group: String, Sendable, CaseIterable {
        case upstream = "Upstream"
        case injection = "Injection"
        case access = "Access"
        case limits = "Rate limit"
        case signature = "Signature"
        case other = "Other"
    }

    public let label: String
    public let group: Group
    /// The hint under the field in a form; nil keeps the field out of the route form.
    public let formHelp: String?
    /// What a new route's form starts with when the setting itself has no default (nil: empty).
    public let formDefault: String?
    /// Shown near the top of a route's detail page (the others follow, when set).
    public let prominent: Bool
    /// Its column in the pane's table, if it has one.
    public let column: ConsoleColumn?

    public init(
        _ label: String, _ group: Group = .other, form formHelp: String? = nil, formDefault: String? = nil,
        prominent: Bool = false, column: ConsoleColumn? = nil
    ) {
        self.column = column
        self.label = label
        self.group = group
        self.formHelp = formHelp
        self.formDefault = formDefault
        self.prominent = prominent
    }
}
