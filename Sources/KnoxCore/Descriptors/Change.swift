/// A request body for one operation on `Root`, checked at the API's edge: a JSON object that names only the fields
/// the operation takes. The REST face and the console build it (`Change<Route>.create(_:)` and the like, next to
/// each resource's handlers); a handler takes it, and reads its fields through `Root`'s descriptors inside the
/// transaction, where the rules that need the store run (a name taken, an environment that exists). A body meant for
/// one resource cannot be handed to another's handler.
public struct Change<Root>: Sendable {
    /// The checked body, read by the resource's descriptors.
    public let body: FieldReader

    /// `json` must be an object naming only `allowed` fields (else the `validation_error` of `FieldReader`).
    public init(_ json: JSONValue, allowed: Set<String>) throws(ApiError) {
        body = try FieldReader(body: json, allowed: allowed)
    }

    /// The fields the body names, in the order sent (an audit row's `changed_fields`).
    public var names: [String] { body.object.keys }
    public var isEmpty: Bool { body.object.isEmpty }
}
