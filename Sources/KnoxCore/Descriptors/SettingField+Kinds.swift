/// The families of settings: each builds the closures of a `SettingField` from a key path, so that a setting's
/// entry in `RouteSettings.fields` states only what is particular to it.
extension SettingField {
    public typealias Path<T> = WritableKeyPath<RouteSettings, T?> & Sendable

    init(
        _ name: String, _ shape: SettingShape, _ description: String?, console: ConsoleUse,
        environmentOnly: Bool = false, requiredOnBase: Bool = false, sample: JSONValue,
        read: @escaping @Sendable (FieldReader, Bool, inout RouteSettings) throws(ApiError) -> Void,
        show: @escaping @Sendable (RouteSettings) -> JSONValue,
        overrides: @escaping @Sendable (RouteSettings) -> Bool = { _ in false },
        overlay: @escaping @Sendable (inout RouteSettings, RouteSettings) -> Void = { _, _ in },
        store: (@Sendable (RouteSettings) -> StoredValue)? = nil,
        load: (@Sendable (inout RouteSettings, StoredValue) -> Void)? = nil,
        initial: (@Sendable (inout RouteSettings) -> Void)? = nil
    ) {
        self.name = name
        self.shape = shape
        self.description = description
        self.console = console
        self.environmentOnly = environmentOnly
        self.requiredOnBase = requiredOnBase
        self.sample = sample
        self.read = read
        self.show = show
        self.overrides = overrides
        self.overlay = overlay
        self.store = store
        self.load = load
        self.initial = initial
    }

    /// true or false. Null restores the default on the base row and inherits the base on an override.
    static func flag(
        _ name: String, _ path: Path<Bool>, default fallback: Bool, _ description: String? = nil,
        console: ConsoleUse, environmentOnly: Bool = false
    ) -> SettingField {
        SettingField(
            name, .boolean, description, console: console, environmentOnly: environmentOnly, sample: .bool(!fallback),
            read: { r, isBase, s throws(ApiError) in
                switch try r.bool(name) {
                case .absent: break
                case .null: s[keyPath: path] = isBase ? fallback : nil
                case .value(let b): s[keyPath: path] = b
                }
            },
            show: { .bool($0[keyPath: path] ?? fallback) },
            overrides: { $0[keyPath: path] != nil },
            overlay: { base, o in if let v = o[keyPath: path] { base[keyPath: path] = v } },
            store: { s in s[keyPath: path].map { .integer($0 ? 1 : 0) } ?? .null },
            load: { s, v in s[keyPath: path] = v.integer.map { $0 != 0 } },
            initial: { $0[keyPath: path] = fallback })
    }

    /// A whole number in `range`. With a default, null on the base row restores it; without one, null clears it.
    static func number(
        _ name: String, _ path: Path<Int>, _ range: ClosedRange<Int>, default fallback: Int?,
        _ description: String? = nil, console: ConsoleUse, sample: Int
    ) -> SettingField {
        var initial: (@Sendable (inout RouteSettings) -> Void)? = nil
        if let fallback { initial = { $0[keyPath: path] = fallback } }
        return SettingField(
            name, .integer(range, nullable: fallback == nil), description, console: console, sample: .int(sample),
            read: { r, isBase, s throws(ApiError) in
                switch try r.int(name, in: range) {
                case .absent: break
                case .null: s[keyPath: path] = isBase ? fallback : nil
                case .value(let v): s[keyPath: path] = v
                }
            },
            show: { .int($0[keyPath: path] ?? fallback) },
            overrides: { $0[keyPath: path] != nil },
            overlay: { base, o in if let v = o[keyPath: path] { base[keyPath: path] = v } },
            store: { s in s[keyPath: path].map { .integer(Int64($0)) } ?? .null },
            load: { s, v in s[keyPath: path] = v.integer.map { Int($0) } },
            initial: initial)
    }

    /// A JSON object kept as JSON text. `emptyByDefault`: the base row holds `{}` rather than nothing, and the wire
    /// shows `{}` for nothing. An empty object on an override inherits the base, as an unset one does.
    static func object(
        _ name: String, _ path: Path<JSONObject>, _ shape: SettingShape, _ description: String? = nil,
        emptyByDefault: Bool, console: ConsoleUse, sample: JSONObject,
        check: @escaping @Sendable (JSONObject, String) throws(ApiError) -> JSONObject
    ) -> SettingField {
        var initial: (@Sendable (inout RouteSettings) -> Void)? = nil
        if emptyByDefault { initial = { $0[keyPath: path] = JSONObject() } }
        return SettingField(
            name, shape, description, console: console, sample: .object(sample),
            read: { r, isBase, s throws(ApiError) in
                switch try r.objectField(name) {
                case .absent: break
                case .null: s[keyPath: path] = isBase && emptyByDefault ? JSONObject() : nil
                case .value(let o): s[keyPath: path] = try check(o, r.name(name))
                }
            },
            show: { s in
                if let v = s[keyPath: path] { return .object(v) }
                return emptyByDefault ? .object(JSONObject()) : .null
            },
            overrides: { $0[keyPath: path].map { !$0.isEmpty } ?? false },
            overlay: { base, o in if let v = o[keyPath: path], !v.isEmpty { base[keyPath: path] = v } },
            store: { s in s[keyPath: path].map { .text(JSONValue.object($0).serialized()) } ?? .null },
            load: { s, v in s[keyPath: path] = v.text.flatMap { try? JSONValue.parse($0) }?.objectValue },
            initial: initial)
    }

    /// A list of strings kept as JSON text, at most `maxCount` long. `emptyByDefault` as for `object`; an empty list
    /// on an override inherits the base.
    static func strings(
        _ name: String, _ path: Path<[String]>, _ shape: SettingShape, _ description: String? = nil, maxCount: Int,
        emptyByDefault: Bool, console: ConsoleUse, sample: [String],
        check: @escaping @Sendable ([String], String) throws(ApiError) -> [String]
    ) -> SettingField {
        var initial: (@Sendable (inout RouteSettings) -> Void)? = nil
        if emptyByDefault { initial = { $0[keyPath: path] = [] } }
        return SettingField(
            name, shape, description, console: console, sample: .array(sample.map(JSONValue.string)),
            read: { r, isBase, s throws(ApiError) in
                switch try r.stringArray(name, maxCount: maxCount) {
                case .absent: break
                case .null: s[keyPath: path] = isBase && emptyByDefault ? [] : nil
                case .value(let list): s[keyPath: path] = try check(list, r.name(name))
                }
            },
            show: { s in
                guard let v = s[keyPath: path] else { return emptyByDefault ? .array([]) : .null }
                return .array(v.map(JSONValue.string))
            },
            overrides: { $0[keyPath: path].map { !$0.isEmpty } ?? false },
            overlay: { base, o in if let v = o[keyPath: path], !v.isEmpty { base[keyPath: path] = v } },
            store: { s in
                s[keyPath: path].map { .text(JSONValue.array($0.map(JSONValue.string)).serialized()) } ?? .null
            },
            load: { s, v in
                s[keyPath: path] = v.text.flatMap { try? JSONValue.parse($0) }?.arrayValue?.compactMap(\.stringValue)
            },
            initial: initial)
    }

    /// A setting accepted by the API's shape but not carried out yet: only false (or null, or nothing) is taken.
    /// The row keeps what it held; the wire shows false when unset.
    static func notYet(
        _ name: String, _ path: Path<Bool>, _ description: String, refusal what: String, console: ConsoleUse
    ) -> SettingField {
        SettingField(
            name, .onlyFalse, description, console: console, sample: false,
            read: { r, _, _ throws(ApiError) in
                if try r.bool(name).value == true { throw RouteSettingChecks.notSupported(r.name(name), what) }
            },
            show: { .bool($0[keyPath: path] ?? false) },
            overrides: { $0[keyPath: path] != nil },
            overlay: { base, o in if let v = o[keyPath: path] { base[keyPath: path] = v } },
            store: { s in s[keyPath: path].map { .integer($0 ? 1 : 0) } ?? .null },
            load: { s, v in s[keyPath: path] = v.integer.map { $0 != 0 } },
            initial: { $0[keyPath: path] = false })
    }
}
