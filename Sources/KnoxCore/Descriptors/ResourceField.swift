/// One field of a resource, described once: its JSON name (also its store column), whether a create or an update
/// body takes it, the schema of what a body may send and of what an answer shows, how a body sets it, how the wire
/// shows it, how the store keeps it, and how the console labels it. A resource's table (`Client.fields`) is walked by
/// its handlers, its wire representation, the OpenAPI document, its store record and the console.
public struct ResourceField<Root: Sendable>: Sendable {
    public enum Input: Sendable, Equatable {
        /// A create must carry it.
        case required
        /// A body may carry it.
        case optional
        /// Never taken in a body (the server sets it).
        case none
    }

    public let name: String
    public let onCreate: Input
    public let onUpdate: Input
    /// What a body may send; nil when no body takes it.
    public let inputSchema: JSONValue?
    /// What an update body may send, when it differs from a create's (another description, say); else `inputSchema`.
    public let updateSchema: JSONValue?
    /// What an answer shows; nil for a write-only field.
    public let outputSchema: JSONValue?
    public let console: ConsoleUse?
    /// A value a body may send (tests send it and expect it back); nil when the field is not in bodies.
    public let sample: JSONValue?

    /// Reads the field from a body (`isCreate`: a create, else an update); nil when the handler reads it itself
    /// (a rule that needs more than the body, such as the configured widest client range).
    let read: (@Sendable (_ body: FieldReader, _ isCreate: Bool, _ root: inout Root) throws(ApiError) -> Void)?
    let show: (@Sendable (Root) -> JSONValue)?
    let store: (@Sendable (Root) -> StoredValue)?
    let load: (@Sendable (inout Root, StoredValue) -> Void)?

    public init(
        _ name: String, create onCreate: Input = .optional, update onUpdate: Input = .optional,
        input inputSchema: JSONValue?, updateInput updateSchema: JSONValue? = nil, output outputSchema: JSONValue?,
        console: ConsoleUse? = nil,
        sample: JSONValue? = nil,
        read: (@Sendable (FieldReader, Bool, inout Root) throws(ApiError) -> Void)? = nil,
        show: (@Sendable (Root) -> JSONValue)? = nil,
        store: (@Sendable (Root) -> StoredValue)? = nil,
        load: (@Sendable (inout Root, StoredValue) -> Void)? = nil
    ) {
        self.name = name
        self.onCreate = onCreate
        self.onUpdate = onUpdate
        self.inputSchema = inputSchema
        self.updateSchema = updateSchema ?? inputSchema
        self.outputSchema = outputSchema
        self.console = console
        self.sample = sample
        self.read = read
        self.show = show
        self.store = store
        self.load = load
    }

    /// Whether this field's `read` checks it (false: the handler reads it, or no body takes it).
    public var readsItself: Bool { read != nil }
    public var isStored: Bool { store != nil }
    /// What a create (or an update) body may send.
    public func bodySchema(create: Bool) -> JSONValue? { create ? inputSchema : updateSchema }

    public func read(_ body: FieldReader, isCreate: Bool, into root: inout Root) throws(ApiError) {
        try read?(body, isCreate, &root)
    }
    public func wire(_ root: Root) -> JSONValue? { show?(root) }
    public func stored(_ root: Root) -> StoredValue { store?(root) ?? .null }
    public func load(_ value: StoredValue, into root: inout Root) { load?(&root, value) }
}

extension Array {
    /// The names a create (or an update) body may carry.
    public func bodyNames<Root>(create: Bool) -> Set<String> where Element == ResourceField<Root> {
        Set(filter { (create ? $0.onCreate : $0.onUpdate) != .none }.map(\.name))
    }

    /// The properties of a create or update body's schema, and the required ones.
    public func bodySchema<Root>(create: Bool) -> (properties: [(String, JSONValue)], required: [String])
    where Element == ResourceField<Root> {
        let taken = filter { (create ? $0.onCreate : $0.onUpdate) != .none && $0.bodySchema(create: create) != nil }
        return (
            taken.map { ($0.name, $0.bodySchema(create: create) ?? .null) },
            taken.filter { (create ? $0.onCreate : $0.onUpdate) == .required }.map(\.name)
        )
    }

    /// The properties of an answer's schema.
    public func answerSchema<Root>() -> [(String, JSONValue)] where Element == ResourceField<Root> {
        compactMap { f in f.outputSchema.map { (f.name, $0) } }
    }

    /// The fields of `root` as the wire shows them.
    public func wire<Root>(_ root: Root) -> JSONObject where Element == ResourceField<Root> {
        var o = JSONObject()
        for field in self { if let v = field.wire(root) { o[field.name] = v } }
        return o
    }
}

/// How the console lists a field in a pane's table.
public struct ConsoleColumn: Sendable {
    public enum Render: Sendable {
        case text
        case flag
        case time
    }

    /// Where it stands among the pane's columns (left to right).
    public let position: Int
    public let title: String
    public let width: Int
    public let flexible: Bool
    public let render: Render

    public init(_ position: Int, _ title: String, _ width: Int, flexible: Bool = false, _ render: Render = .text) {
        self.position = position
        self.title = title
        self.width = width
        self.flexible = flexible
        self.render = render
    }
}
