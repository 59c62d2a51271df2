extension Environment {
    /// Every field of an environment, in the order a body is checked. The handlers keep the rules that need the store:
    /// a name already taken, and moving the default flag (which a default environment cannot simply drop); the
    /// answer's `tenant_id` and `sandbox` are the wire's. `name` is the environment's identity: a create must send
    /// it; the update schema leaves it out, and an update that sends another one is refused (the same one passes).
    public static let fields: [ResourceField<Environment>] = [
        ResourceField(
            "id", create: .none, update: .none, input: nil, output: JSONSchema.uuid(),
            show: { .string($0.id) }, store: { .text($0.id) }, load: { e, v in e.id = v.text ?? "" }),
        ResourceField(
            "name", create: .required, update: .none,
            input: JSONSchema.environmentName("Permanent: secret values are sealed to it"), output: JSONSchema.string(),
            console: ConsoleUse("Name", form: "a-z 0-9 _ -, permanent", column: ConsoleColumn(0, "NAME", 16)),
            sample: "sample_env",
            read: { r, isCreate, e throws(ApiError) in
                if isCreate {
                    let name = try r.requiredString("name", maxLength: 63)
                    guard Environment.isValidName(name) else {
                        throw ApiError.invalid("name", "must match ^[a-z0-9_-]+$ and be at most 63 characters")
                    }
                    e.name = name
                } else if let name = try r.string("name").value, name != e.name {
                    throw ApiError.refused(
                        "name", "cannot be changed (secret values are bound to it); create a new environment",
                        .immutable)
                }
            },
            show: { .string($0.name) }, store: { .text($0.name) }, load: { e, v in e.name = v.text ?? "" }),
        ResourceField(
            "display_name", input: JSONSchema.text(maxLength: 100), output: JSONSchema.string(),
            console: ConsoleUse(
                "Display name", form: "", column: ConsoleColumn(1, "DISPLAY NAME", 16, flexible: true)),
            sample: "Sample environment",
            // A create without one takes the name's (read just before).
            read: { r, isCreate, e throws(ApiError) in
                if let d = try r.text("display_name", maxLength: 100).value {
                    e.displayName = d
                } else if isCreate {
                    e.displayName = Environment.defaultDisplayName(e.name)
                }
            },
            show: { .string($0.displayName) }, store: { .text($0.displayName) },
            load: { e, v in e.displayName = v.text ?? "" }),
        ResourceField(
            "description", input: JSONSchema.string(nullable: true, maxLength: 1000),
            output: JSONSchema.string(nullable: true), console: ConsoleUse("Description", form: ""),
            sample: "A sample",
            read: { r, _, e throws(ApiError) in
                switch try r.string("description") {
                case .absent: break
                case .null: e.description = nil
                case .value(let d):
                    guard d.unicodeScalars.count <= 1000 else {
                        throw ApiError.invalid("description", "must be at most 1000 characters")
                    }
                    e.description = d.isEmpty ? nil : d
                }
            },
            show: { .string($0.description) }, store: { e in e.description.map(StoredValue.text) ?? .null },
            load: { e, v in e.description = v.text }),
        ResourceField(
            "color",
            input: JSONSchema.orNull(
                JSONSchema.string("#rrggbb; null leaves it as it is", pattern: "^#[0-9A-Fa-f]{6}\(TextRule.end)")),
            output: JSONSchema.string(),
            console: ConsoleUse(
                "Color", form: "", formDefault: Environment.defaultColor, column: ConsoleColumn(3, "COLOR", 7)),
            sample: "#10b981",
            // Null leaves the colour as it is, as leaving it out does.
            read: { r, _, e throws(ApiError) in
                if let color = try r.string("color").value {
                    let b = Array(color.utf8)
                    guard b.count == 7, b[0] == UInt8(ascii: "#"),
                        b.dropFirst().allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit })
                    else { throw ApiError.invalid("color", "must be a #rrggbb colour such as #6366f1") }
                    e.color = color.lowercased()
                }
            },
            show: { .string($0.color) }, store: { .text($0.color) },
            load: { e, v in e.color = v.text ?? Environment.defaultColor }),
        ResourceField(
            "is_default", input: JSONSchema.boolean(), output: JSONSchema.boolean(),
            console: ConsoleUse("Default", column: ConsoleColumn(2, "DEFAULT", 7, .flag)), sample: true,
            // Sets the flag on this environment only; the handler moves it off the others.
            read: { r, _, e throws(ApiError) in
                switch try r.bool("is_default") {
                case .absent: break
                case .null: throw ApiError.invalid("is_default", "must be true or false (got null)")
                case .value(let v): e.isDefault = v
                }
            },
            show: { .bool($0.isDefault) }, store: { .integer($0.isDefault ? 1 : 0) },
            load: { e, v in e.isDefault = (v.integer ?? 0) != 0 }),
        ResourceField(
            "created_at", create: .none, update: .none, input: nil, output: JSONSchema.time(),
            console: ConsoleUse("Created", column: ConsoleColumn(4, "CREATED", 16, .time)),
            show: { .string(Timestamp.format(millis: $0.createdAt)) }, store: { .integer($0.createdAt) },
            load: { e, v in e.createdAt = v.integer ?? 0 }),
        ResourceField(
            "updated_at", create: .none, update: .none, input: nil, output: JSONSchema.time(),
            show: { .string(Timestamp.format(millis: $0.updatedAt)) }, store: { .integer($0.updatedAt) },
            load: { e, v in e.updatedAt = v.integer ?? 0 }),
    ]

    /// An environment with nothing set, for a table to fill (a store row, or a create body).
    public static func blank(id: String = "", at millis: Int64 = 0) -> Environment {
        Environment(id: id, name: "", displayName: "", createdAt: millis, updatedAt: millis)
    }
}
