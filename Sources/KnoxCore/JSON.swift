/// A JSON value that keeps object keys in the order they were written.
///
/// The API renders resources field by field in a fixed order, and the data plane
/// merges injected fields into a caller's body; both want insertion order and
/// exact numbers, which `JSONSerialization` does not promise.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number, kept as its literal text so that nothing is lost in a round trip.
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A number value made from an integer.
    public static func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
    /// A number value made from a floating-point value.
    public static func double(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }
    /// `.string` for a value, `.null` for nil.
    public static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    /// `.number` for a value, `.null` for nil.
    public static func int(_ value: Int?) -> JSONValue { value.map(JSONValue.int) ?? .null }
    /// `.bool` for a value, `.null` for nil.
    public static func bool(_ value: Bool?) -> JSONValue { value.map(JSONValue.bool) ?? .null }

    /// The JSON type name used in validation messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var isNull: Bool { self == .null }
    /// The integer value of a number without fraction or exponent that fits in `Int`.
    public var intValue: Int? { if case .number(let n) = self { n.intValue } else { nil } }
    public var doubleValue: Double? { if case .number(let n) = self { n.doubleValue } else { nil } }

    /// Looks a key up in an object; nil for other kinds of value.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

/// A JSON number stored as validated literal text.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    /// The literal, exactly as it appears in JSON text.
    public let literal: String

    /// Wraps a literal that the parser has already validated.
    init(validatedLiteral: String) { literal = validatedLiteral }
    public init(_ value: Int) { literal = String(value) }
    public init(_ value: Double) {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            literal = String(Int(value))
        } else if value.isFinite {
            literal = String(value)
        } else {
            literal = "0"  // JSON has no NaN or infinity.
        }
    }

    public var intValue: Int? {
        literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? nil : Int(literal)
    }
    public var doubleValue: Double? { Double(literal) }
    public var description: String { literal }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        lhs.literal == rhs.literal || (lhs.doubleValue != nil && lhs.doubleValue == rhs.doubleValue)
    }
}

/// An ordered JSON object: keys keep the order in which they were inserted.
public struct JSONObject: Sendable, Equatable, Sequence {
    public private(set) var keys: [String] = []
    private var storage: [String: JSONValue] = [:]

    public init() {}
    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        for (k, v) in pairs { self[k] = v }
    }
    public init(pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> JSONValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        var index = 0
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            let key = keys[index]
            // Every key in `keys` has a value in `storage` (both change together above).
            return (key, storage[key] ?? .null)
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.storage == rhs.storage
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(pairs: elements) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(pairs: elements)) }
    public init(nilLiteral: ()) { self = .null }
}
