extension Client {
    /// What a list of clients may be sorted by: names of its stored fields (so also their columns), in the
    /// order the document lists them.
    public static let sortKeys = ["created_at", "name", "type", "ip_address"]

    /// Every field of a client, in the order a body is checked. `ip_address` is read by the handler (its widest
    /// range comes from config.toml); `tenant_id`, the agent fields and `route_assignments` are the wire's.
    public static let fields: [ResourceField<Client>] = [
        ResourceField(
            "id", create: .none, update: .none, input: nil, output: JSONSchema.uuid(),
            show: { .string($0.id) }, store: { .text($0.id) }, load: { c, v in c.id = v.text ?? "" }),
        ResourceField(
            "name", create: .required, input: JSONSchema.text(maxLength: 200), output: JSONSchema.string(),
            console: ConsoleUse("Name", form: "", column: ConsoleColumn(0, "NAME", 18, flexible: true)),
            sample: "Sample client",
            read: { r, isCreate, c throws(ApiError) in
                if isCreate {
                    c.name = try r.requiredString("name", maxLength: 200)
                } else if let name = try r.text("name", maxLength: 200).value {
                    c.name = name
                }
            },
            show: { .string($0.name) }, store: { .text($0.name) }, load: { c, v in c.name = v.text ?? "" }),
        ResourceField(
            "ip_address", create: .required, input: JSONSchema.ipRange("IPv4/IPv6 address or CIDR range"),
            output: JSONSchema.string("Canonical address or CIDR range"),
            console: ConsoleUse(
                "Address", form: "IPv4/IPv6 address or CIDR range", column: ConsoleColumn(2, "ADDRESS", 22)),
            sample: "198.51.100.0/24",
            show: { .string($0.ipAddress) }, store: { .text($0.ipAddress) },
            load: { c, v in c.ipAddress = v.text ?? "" }),
        ResourceField(
            "type", input: JSONSchema.string(values: Kind.allCases.map(\.rawValue)),
            output: JSONSchema.string(values: Kind.allCases.map(\.rawValue)),
            console: ConsoleUse(
                "Type", form: "", formDefault: Kind.server.rawValue, column: ConsoleColumn(1, "TYPE", 6)),
            sample: "user",
            read: { r, _, c throws(ApiError) in
                switch try r.string("type") {
                case .absent: break
                case .null: throw ApiError.invalid("type", "must be user or server (got null)")
                case .value(let t):
                    guard let kind = Kind(rawValue: t) else {
                        throw ApiError.invalid("type", "must be user or server (got \"\(t.prefix(32))\")")
                    }
                    c.type = kind
                }
            },
            show: { .string($0.type.rawValue) }, store: { .text($0.type.rawValue) },
            load: { c, v in c.type = v.text.flatMap(Kind.init(rawValue:)) ?? .server }),
        ResourceField(
            "ip_notes", input: JSONSchema.map(nullable: true), output: JSONSchema.map(),
            sample: ["site": "office"],
            read: { r, _, c throws(ApiError) in
                switch try r.objectField("ip_notes") {
                case .absent: break
                case .null: c.ipNotes = JSONObject()
                case .value(let notes):
                    guard JSONValue.object(notes).serialized().utf8.count <= 16_384 else {
                        throw ApiError.invalid("ip_notes", "must be at most 16 KiB as JSON")
                    }
                    c.ipNotes = notes
                }
            },
            show: { .object($0.ipNotes) }, store: { .text(JSONValue.object($0.ipNotes).serialized()) },
            load: { c, v in c.ipNotes = v.text.flatMap { try? JSONValue.parse($0) }?.objectValue ?? JSONObject() }),
        ResourceField(
            "description", input: JSONSchema.string(nullable: true, maxLength: 1000),
            output: JSONSchema.string(nullable: true), console: ConsoleUse("Description", form: ""),
            sample: "A sample",
            read: { r, _, c throws(ApiError) in
                switch try r.string("description") {
                case .absent: break
                case .null: c.description = nil
                case .value(let d):
                    guard d.unicodeScalars.count <= 1000 else {
                        throw ApiError.invalid("description", "must be at most 1000 characters")
                    }
                    c.description = d.isEmpty ? nil : d
                }
            },
            show: { .string($0.description) }, store: { c in c.description.map(StoredValue.text) ?? .null },
            load: { c, v in c.description = v.text }),
        ResourceField(
            "allow_wide_range", update: .optional,
            input: JSONSchema.boolean(
                "Needed for an ip_address wider than the configured prefix (/8, /32 by default) and for /0",
                nullable: true),
            output: nil,
            console: ConsoleUse(
                "Wide range", form: "Needed for a range wider than /8 (IPv4) or /32 (IPv6)", formDefault: "false"),
            // Read with ip_address; checked here even when that is absent.
            read: { r, _, _ throws(ApiError) in _ = try r.bool("allow_wide_range") }),
        ResourceField(
            "enabled", input: JSONSchema.boolean(), output: JSONSchema.boolean(),
            console: ConsoleUse("Enabled", form: "", column: ConsoleColumn(3, "ON", 3, .flag)), sample: false,
            read: { r, _, c throws(ApiError) in
                switch try r.bool("enabled") {
                case .absent: break
                case .null: throw ApiError.invalid("enabled", "must be true or false (got null)")
                case .value(let e): c.enabled = e
                }
            },
            show: { .bool($0.enabled) }, store: { .integer($0.enabled ? 1 : 0) },
            load: { c, v in c.enabled = (v.integer ?? 1) != 0 }),
        ResourceField(
            "collection_id", input: JSONSchema.string(nullable: true, minLength: 1, maxLength: 128),
            output: JSONSchema.string(nullable: true), sample: "sample-collection",
            read: { r, _, c throws(ApiError) in
                switch try r.string("collection_id") {
                case .absent: break
                case .null: c.collectionId = nil
                case .value(let id):
                    guard !id.isEmpty, id.unicodeScalars.count <= 128 else {
                        throw ApiError.invalid("collection_id", "must be 1-128 characters")
                    }
                    c.collectionId = id
                }
            },
            show: { .string($0.collectionId) }, store: { c in c.collectionId.map(StoredValue.text) ?? .null },
            load: { c, v in c.collectionId = v.text }),
        ResourceField(
            "created_by", create: .none, update: .none, input: nil, output: JSONSchema.string(nullable: true),
            show: { .string($0.createdBy) }, store: { c in c.createdBy.map(StoredValue.text) ?? .null },
            load: { c, v in c.createdBy = v.text }),
        ResourceField(
            "created_at", create: .none, update: .none, input: nil, output: JSONSchema.time(),
            console: ConsoleUse("Created", column: ConsoleColumn(4, "CREATED", 16, .time)),
            show: { .string(Timestamp.format(millis: $0.createdAt)) }, store: { .integer($0.createdAt) },
            load: { c, v in c.createdAt = v.integer ?? 0 }),
        ResourceField(
            "updated_at", create: .none, update: .none, input: nil, output: JSONSchema.time(),
            show: { .string(Timestamp.format(millis: $0.updatedAt)) }, store: { .integer($0.updatedAt) },
            load: { c, v in c.updatedAt = v.integer ?? 0 }),
    ]

    /// A client with nothing set, for a table to fill (a store row, or a create body).
    public static func blank(id: String = "", at millis: Int64 = 0) -> Client {
        Client(id: id, name: "", type: .server, ipAddress: "", createdAt: millis, updatedAt: millis)
    }
}
