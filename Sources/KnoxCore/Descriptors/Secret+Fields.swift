extension Secret {
    /// What a list of secrets may be sorted by: names of its stored fields (so also their columns), in the
    /// order the document lists them.
    public static let sortKeys = ["created_at", "name", "base_environment"]

    /// Every field of a secret, in the order a body is checked. A secret's value is never one of them: `value` (and
    /// `environment`, the environment the first value is for) are write-only, taken by a create body and read and
    /// sealed by the handler, with no wire, store or console use. `secret_type` is checked by the handler before
    /// anything else (the type decides which fields are valid); `base_environment` is read by the handler too (its
    /// default and its existence come from the store). A new name's uniqueness is the handler's as well.
    /// `environment_count`, `environments` and `used_by` are the wire's (they come from the values and the routes).
    public static let fields: [ResourceField<Secret>] = [
        ResourceField(
            "id", create: .none, update: .none, input: nil, output: JSONSchema.uuid(),
            show: { .string($0.id) }, store: { .text($0.id) }, load: { s, v in s.id = v.text ?? "" }),
        ResourceField(
            "name", create: .required, input: JSONSchema.secretName("Spaces become underscores, letters upper case"),
            updateInput: JSONSchema.secretName(), output: JSONSchema.string(),
            console: ConsoleUse("Name", column: ConsoleColumn(0, "NAME", 20, flexible: true)),
            sample: "SAMPLE_NAME",
            read: { r, isCreate, s throws(ApiError) in
                if isCreate {
                    s.name = try Secret.normalizedName(try r.requiredString("name", maxLength: 200))
                } else if let raw = try r.text("name", maxLength: 200).value {
                    s.name = try Secret.normalizedName(raw)
                }
            },
            show: { .string($0.name) }, store: { .text($0.name) }, load: { s, v in s.name = v.text ?? "" }),
        ResourceField(
            "shortcode_name", create: .none, update: .none, input: nil, output: JSONSchema.string(),
            show: { .string($0.name) }),
        ResourceField(
            "value", create: .required, update: .none, input: JSONSchema.secretValue(), output: nil),
        ResourceField(
            "environment", update: .none,
            input: JSONSchema.environmentName("The environment the first value is for"), output: nil),
        ResourceField(
            "base_environment", update: .none, input: JSONSchema.environmentName(), output: JSONSchema.string(),
            console: ConsoleUse("Base environment", column: ConsoleColumn(2, "BASE ENV", 10)), sample: "staging",
            show: { .string($0.baseEnvironment) }, store: { .text($0.baseEnvironment) },
            load: { s, v in s.baseEnvironment = v.text ?? "" }),
        ResourceField(
            "secret_type", update: .none,
            input: JSONSchema.orNull(
                JSONSchema.string(
                    "string and its aliases (null or omitted: string); oauth2 and certificate secrets are not "
                        + "available in this version",
                    values: Kind.stringAliases)),
            output: JSONSchema.string(values: Kind.allCases.map(\.rawValue)),
            console: ConsoleUse("Type", column: ConsoleColumn(1, "TYPE", 7)), sample: "string",
            show: { .string($0.secretType.rawValue) }, store: { .text($0.secretType.rawValue) },
            load: { s, v in s.secretType = v.text.flatMap(Kind.init(rawValue:)) ?? .string }),
        ResourceField(
            "description", input: JSONSchema.string(nullable: true, maxLength: 1000),
            output: JSONSchema.string(nullable: true), sample: "A sample",
            read: { r, _, s throws(ApiError) in
                switch try r.string("description") {
                case .absent: break
                case .null: s.description = nil
                case .value(let d):
                    guard d.unicodeScalars.count <= 1000 else {
                        throw ApiError.invalid("description", "must be at most 1000 characters")
                    }
                    s.description = d.isEmpty ? nil : d
                }
            },
            show: { .string($0.description) }, store: { s in s.description.map(StoredValue.text) ?? .null },
            load: { s, v in s.description = v.text }),
        ResourceField(
            "collection_id", input: JSONSchema.string(nullable: true, minLength: 1, maxLength: 128),
            output: JSONSchema.string(nullable: true), sample: "sample-collection",
            read: { r, _, s throws(ApiError) in
                switch try r.string("collection_id") {
                case .absent: break
                case .null: s.collectionId = nil
                case .value(let id):
                    guard !id.isEmpty, id.unicodeScalars.count <= 128 else {
                        throw ApiError.invalid("collection_id", "must be 1-128 characters")
                    }
                    s.collectionId = id
                }
            },
            show: { .string($0.collectionId) }, store: { s in s.collectionId.map(StoredValue.text) ?? .null },
            load: { s, v in s.collectionId = v.text }),
        ResourceField(
            "created_at", create: .none, update: .none, input: nil, output: JSONSchema.time(),
            show: { .string(Timestamp.format(millis: $0.createdAt)) }, store: { .integer($0.createdAt) },
            load: { s, v in s.createdAt = v.integer ?? 0 }),
        ResourceField(
            "updated_at", create: .none, update: .none, input: nil, output: JSONSchema.time(),
            console: ConsoleUse("Updated", column: ConsoleColumn(4, "UPDATED", 16, .time)),
            show: { .string(Timestamp.format(millis: $0.updatedAt)) }, store: { .integer($0.updatedAt) },
            load: { s, v in s.updatedAt = v.integer ?? 0 }),
        ResourceField(
            "expires_at", input: JSONSchema.time(nullable: true), output: JSONSchema.time(nullable: true),
            sample: "2030-01-01T00:00:00.000Z",
            read: { r, _, s throws(ApiError) in
                switch try r.string("expires_at") {
                case .absent: break
                case .null: s.expiresAt = nil
                case .value(let t):
                    guard let millis = Timestamp.parse(t) else {
                        throw ApiError.invalid("expires_at", "must be an RFC 3339 time such as 2027-01-01T00:00:00Z")
                    }
                    s.expiresAt = millis
                }
            },
            show: { s in s.expiresAt.map { .string(Timestamp.format(millis: $0)) } ?? .null },
            store: { s in s.expiresAt.map(StoredValue.integer) ?? .null }, load: { s, v in s.expiresAt = v.integer }),
        ResourceField(
            "strict_expiry_enforcement", input: JSONSchema.boolean("null: false", nullable: true),
            updateInput: JSONSchema.boolean("null: unchanged", nullable: true), output: JSONSchema.boolean(),
            sample: true,
            read: { r, _, s throws(ApiError) in
                // Null leaves it as it is: false on a create, unchanged on an update.
                if let strict = try r.bool("strict_expiry_enforcement").value { s.strictExpiryEnforcement = strict }
            },
            show: { .bool($0.strictExpiryEnforcement) }, store: { .integer($0.strictExpiryEnforcement ? 1 : 0) },
            load: { s, v in s.strictExpiryEnforcement = (v.integer ?? 0) != 0 }),
    ]

    /// A secret with nothing set, for a table to fill (a store row, or a create body).
    public static func blank(id: String = "", at millis: Int64 = 0) -> Secret {
        Secret(id: id, name: "", baseEnvironment: "", createdAt: millis, updatedAt: millis)
    }

    /// The name as stored and referenced (`SecretName.normalize`), or the `validation_error` that names `name`.
    public static func normalizedName(_ raw: String) throws(ApiError) -> String {
        guard let name = SecretName.normalize(raw) else {
            throw ApiError.invalid("name", "must be 1-128 characters of letters, digits, spaces, _ . and -")
        }
        return name
    }
}

extension Secret.Kind {
    /// What a body may send as `secret_type` for a static value: `string` and the SDK's names for one (`api_key`,
    /// `basic_auth`, `custom`), all stored as `string`.
    public static let stringAliases = ["string", "api_key", "basic_auth", "custom"]
}
