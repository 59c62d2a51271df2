/// Builders for fields that the server sets and the wire shows as kept (no body takes them): a key path states the
/// rest.
extension ResourceField {
    public typealias Path<T> = WritableKeyPath<Root, T> & Sendable

    public static func text(_ name: String, _ path: Path<String>, output: JSONValue = JSONSchema.string())
        -> ResourceField
    {
        ResourceField(
            name, create: .none, update: .none, input: nil, output: output, show: { .string($0[keyPath: path]) },
            store: { .text($0[keyPath: path]) }, load: { r, v in r[keyPath: path] = v.text ?? "" })
    }

    public static func optionalText(_ name: String, _ path: Path<String?>) -> ResourceField {
        ResourceField(
            name, create: .none, update: .none, input: nil, output: JSONSchema.string(nullable: true),
            show: { .string($0[keyPath: path]) }, store: { r in r[keyPath: path].map(StoredValue.text) ?? .null },
            load: { r, v in r[keyPath: path] = v.text })
    }

    public static func time(_ name: String, _ path: Path<Int64>) -> ResourceField {
        ResourceField(
            name, create: .none, update: .none, input: nil, output: JSONSchema.time(),
            show: { .string(Timestamp.format(millis: $0[keyPath: path])) }, store: { .integer($0[keyPath: path]) },
            load: { r, v in r[keyPath: path] = v.integer ?? 0 })
    }

    public static func optionalTime(_ name: String, _ path: Path<Int64?>) -> ResourceField {
        ResourceField(
            name, create: .none, update: .none, input: nil, output: JSONSchema.time(nullable: true),
            show: { r in r[keyPath: path].map { .string(Timestamp.format(millis: $0)) } ?? .null },
            store: { r in r[keyPath: path].map(StoredValue.integer) ?? .null },
            load: { r, v in r[keyPath: path] = v.integer })
    }

    public static func optionalInteger(_ name: String, _ path: Path<Int?>) -> ResourceField {
        ResourceField(
            name, create: .none, update: .none, input: nil, output: JSONSchema.integer(nullable: true),
            show: { .int($0[keyPath: path]) }, store: { r in r[keyPath: path].map { .integer(Int64($0)) } ?? .null },
            load: { r, v in r[keyPath: path] = v.integer.map { Int($0) } })
    }

    public static func flag(_ name: String, _ path: Path<Bool>) -> ResourceField {
        ResourceField(
            name, create: .none, update: .none, input: nil, output: JSONSchema.boolean(),
            show: { .bool($0[keyPath: path]) }, store: { .integer($0[keyPath: path] ? 1 : 0) },
            load: { r, v in r[keyPath: path] = (v.integer ?? 0) != 0 })
    }

    /// A list of strings kept as JSON text; `emptyIsNull`: an empty list is stored as NULL.
    public static func strings(_ name: String, _ path: Path<[String]>, output: JSONValue, emptyIsNull: Bool = false)
        -> ResourceField
    {
        ResourceField(
            name, create: .none, update: .none, input: nil, output: output,
            show: { .array($0[keyPath: path].map(JSONValue.string)) },
            store: { r in
                let list = r[keyPath: path]
                return emptyIsNull && list.isEmpty
                    ? .null : .text(JSONValue.array(list.map(JSONValue.string)).serialized())
            },
            load: { r, v in
                r[keyPath: path] =
                    v.text.flatMap { try? JSONValue.parse($0) }?.arrayValue?.compactMap(\.stringValue) ?? []
            })
    }

    public static func optionalStrings(_ name: String, _ path: Path<[String]?>, output: JSONValue) -> ResourceField {
        ResourceField(
            name, create: .none, update: .none, input: nil, output: output,
            show: { r in r[keyPath: path].map { .array($0.map(JSONValue.string)) } ?? .null },
            store: { r in
                r[keyPath: path].map { .text(JSONValue.array($0.map(JSONValue.string)).serialized()) } ?? .null
            },
            load: { r, v in
                r[keyPath: path] = v.text.flatMap { try? JSONValue.parse($0) }?.arrayValue?.compactMap(\.stringValue)
            })
    }
}
