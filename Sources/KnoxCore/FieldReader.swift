/// A field of a request body: absent, explicitly null, or a value.
public enum Field<T: Sendable>: Sendable {
    case absent
    case null
    case value(T)

    /// The value, or nil when absent or null.
    public var value: T? { if case .value(let v) = self { v } else { nil } }
    public var isAbsent: Bool { if case .absent = self { true } else { false } }
    public var isNull: Bool { if case .null = self { true } else { false } }

    public func map<U>(_ transform: (T) throws -> U) rethrows -> Field<U> {
        switch self {
        case .absent: .absent
        case .null: .null
        case .value(let v): .value(try transform(v))
        }
    }
}

/// Reads typed fields out of a JSON object and turns every problem into a `validation_error` that names the field.
///
/// Constructing a reader checks for unknown fields, so a misspelled field is refused rather than ignored.
public struct FieldReader: Sendable {
    public let object: JSONObject
    /// Prepended to field names in messages, e.g. `listen.` for a nested table.
    public let prefix: String

    public init(_ object: JSONObject, allowed: Set<String>, prefix: String = "") throws(ApiError) {
        self.object = object
        self.prefix = prefix
        for key in object.keys where !allowed.contains(key) {
            throw ApiError.invalid(
                prefix + key, "unknown field; allowed fields are \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// Wraps a whole JSON body, which must be an object.
    public init(body: JSONValue, allowed: Set<String>) throws(ApiError) {
        guard let object = body.objectValue else {
            throw ApiError(.validationError, "body: must be a JSON object (got \(body.typeName))", field: "body")
        }
        try self.init(object, allowed: allowed)
    }

    public func has(_ key: String) -> Bool { object[key] != nil }

    public func name(_ key: String) -> String { prefix + key }

    private func typeError(_ key: String, _ expected: String, _ got: JSONValue) -> ApiError {
        ApiError.invalid(name(key), "must be \(expected) (got \(got.typeName))")
    }

    public func string(_ key: String) throws(ApiError) -> Field<String> {
        switch object[key] {
        case nil: return .absent
        case .null?: return .null
        case .string(let s)?: return .value(s)
        case let other?: throw typeError(key, "a string", other)
        }
    }

    /// A string that may be left out but not sent as null.
    public func nonNullString(_ key: String) throws(ApiError) -> String? {
        switch try string(key) {
        case .absent: return nil
        case .null: throw ApiError.invalid(name(key), "must be a string (got null); leave it out instead")
        case .value(let s): return s
        }
    }

    /// A required non-empty string (surrounding whitespace removed), at most `maxLength` characters.
    public func requiredString(_ key: String, maxLength: Int = 255) throws(ApiError) -> String {
        guard let s = try string(key).value else { throw ApiError.invalid(name(key), "is required") }
        return try checkedText(key, s, maxLength: maxLength)
    }

    /// An optional string; when present it must be non-empty after trimming. Null is refused: a name-like field
    /// always has a value (leave it out to keep the current one or take the default).
    public func text(_ key: String, maxLength: Int = 255) throws(ApiError) -> Field<String> {
        switch try string(key) {
        case .absent: return .absent
        case .null: throw ApiError.invalid(name(key), "must be a string (got null); leave it out instead")
        case .value(let s): return .value(try checkedText(key, s, maxLength: maxLength))
        }
    }

    /// The text rule of every name-like field, which the OpenAPI document states as `maxLength` and `TextRule.pattern`:
    /// at most `maxLength` Unicode scalars as sent (JSON Schema counts code points), something left once the ASCII
    /// spaces, tabs and line breaks around it are removed, and no control (but tab) or invisible character inside.
    private func checkedText(_ key: String, _ s: String, maxLength: Int) throws(ApiError) -> String {
        guard s.unicodeScalars.count <= maxLength else {
            throw ApiError.invalid(name(key), "must be at most \(maxLength) characters")
        }
        let trimmed = s.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { throw ApiError.invalid(name(key), "must not be empty") }
        guard !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else {
            throw ApiError.invalid(name(key), "must not contain control characters")
        }
        if let hidden = trimmed.unicodeScalars.first(where: Self.isInvisibleFormatting) {
            throw ApiError.invalid(
                name(key),
                "must not contain invisible or direction-changing characters (found U+\(String(hidden.value, radix: 16, uppercase: true)))"
            )
        }
        return trimmed
    }

    /// Bidirectional overrides, embeddings, isolates and marks, and zero-width characters: they make a name read
    /// differently from what it is (CVE-2021-42574, "Trojan Source"), so names and other texts refuse them.
    public static func isInvisibleFormatting(_ scalar: Unicode.Scalar) -> Bool {
        invisibleFormatting.contains { $0.contains(scalar.value) }
    }

    /// The scalars `isInvisibleFormatting` refuses (the OpenAPI document's text pattern is built from this list).
    public static let invisibleFormatting: [ClosedRange<UInt32>] = [
        0x061C...0x061C, 0x180E...0x180E, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2064, 0x2066...0x2069,
        0xFEFF...0xFEFF,
    ]

    public func bool(_ key: String) throws(ApiError) -> Field<Bool> {
        switch object[key] {
        case nil: return .absent
        case .null?: return .null
        case .bool(let b)?: return .value(b)
        case let other?: throw typeError(key, "true or false", other)
        }
    }

    /// A whole number within `range`.
    public func int(_ key: String, in range: ClosedRange<Int>) throws(ApiError) -> Field<Int> {
        switch object[key] {
        case nil: return .absent
        case .null?: return .null
        case .number(let n)?:
            guard let v = n.intValue ?? n.doubleValue.flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil })
            else { throw ApiError.invalid(name(key), "must be a whole number") }
            guard range.contains(v) else {
                throw ApiError.invalid(
                    name(key), "must be between \(range.lowerBound) and \(range.upperBound) (got \(v))")
            }
            return .value(v)
        case let other?: throw typeError(key, "a whole number", other)
        }
    }

    /// A number (whole or not) within `range`.
    public func number(_ key: String, in range: ClosedRange<Double>) throws(ApiError) -> Field<Double> {
        switch object[key] {
        case nil: return .absent
        case .null?: return .null
        case .number(let n)?:
            guard let v = n.doubleValue ?? n.intValue.map(Double.init), v.isFinite else {
                throw ApiError.invalid(name(key), "must be a number")
            }
            guard range.contains(v) else {
                throw ApiError.invalid(
                    name(key), "must be between \(range.lowerBound) and \(range.upperBound) (got \(v))")
            }
            return .value(v)
        case let other?: throw typeError(key, "a number", other)
        }
    }

    public func objectField(_ key: String) throws(ApiError) -> Field<JSONObject> {
        switch object[key] {
        case nil: return .absent
        case .null?: return .null
        case .object(let o)?: return .value(o)
        case let other?: throw typeError(key, "an object", other)
        }
    }

    public func array(_ key: String) throws(ApiError) -> Field<[JSONValue]> {
        switch object[key] {
        case nil: return .absent
        case .null?: return .null
        case .array(let a)?: return .value(a)
        case let other?: throw typeError(key, "an array", other)
        }
    }

    /// An array of strings (each element checked), at most `maxCount` long.
    public func stringArray(_ key: String, maxCount: Int = 1000) throws(ApiError) -> Field<[String]> {
        switch try array(key) {
        case .absent: return .absent
        case .null: return .null
        case .value(let items):
            guard items.count <= maxCount else {
                throw ApiError.invalid(name(key), "must have at most \(maxCount) items")
            }
            var out: [String] = []
            for (i, item) in items.enumerated() {
                guard let s = item.stringValue else {
                    throw ApiError.invalid("\(name(key))[\(i)]", "must be a string (got \(item.typeName))")
                }
                out.append(s)
            }
            return .value(out)
        }
    }

    /// A UUID string (returned lowercased).
    public func uuid(_ key: String) throws(ApiError) -> Field<String> {
        switch try string(key) {
        case .absent: return .absent
        case .null: return .null
        case .value(let s):
            guard Identifier.isUUID(s) else { throw ApiError.invalid(name(key), "must be a UUID") }
            return .value(s.lowercased())
        }
    }
}
