extension Route {
    /// What a list of routes may be sorted by: names of its stored fields (so also their columns), in the
    /// order the document lists them.
    public static let sortKeys = ["created_at", "name", "enabled"]

    /// A route's own fields (its per-environment settings are `RouteSettings.fields`), in the order a body is
    /// checked. `name`, `slug` and `base_environment` are read by the handlers: their rules need the store (a name
    /// or slug taken, an environment that exists).
    public static let fields: [ResourceField<Route>] = [
        ResourceField(
            "id", create: .none, update: .none, input: nil, output: JSONSchema.uuid(),
            show: { .string($0.id) }, store: { .text($0.id) }, load: { r, v in r.id = v.text ?? "" }),
        ResourceField(
            "name", create: .required, input: JSONSchema.text(maxLength: 200), output: JSONSchema.string(),
            sample: "Described route",
            show: { .string($0.name) }, store: { .text($0.name) }, load: { r, v in r.name = v.text ?? "" }),
        ResourceField(
            "slug",
            input: JSONSchema.token("Derived from the name when omitted; permanent", "[a-z0-9-]{1,63}", maxLength: 63),
            output: JSONSchema.string(), show: { .string($0.slug) }, store: { .text($0.slug) },
            load: { r, v in r.slug = v.text ?? "" }),
        ResourceField(
            "base_environment", update: .none,
            input: JSONSchema.environmentName("An existing environment; the default one when omitted"),
            output: JSONSchema.string(), show: { .string($0.baseEnvironment) }, store: { .text($0.baseEnvironment) },
            load: { r, v in r.baseEnvironment = v.text ?? "" }),
        ResourceField(
            "enabled", input: JSONSchema.boolean(), output: JSONSchema.boolean(), sample: false,
            read: { b, _, r throws(ApiError) in r.enabled = try flag(b, "enabled") ?? r.enabled },
            show: { .bool($0.enabled) }, store: { .integer($0.enabled ? 1 : 0) },
            load: { r, v in r.enabled = (v.integer ?? 1) != 0 }),
        ResourceField(
            "requires_clients", input: JSONSchema.boolean(), output: JSONSchema.boolean(), sample: true,
            read: { b, _, r throws(ApiError) in r.requiresClients = try flag(b, "requires_clients") ?? r.requiresClients
            },
            show: { .bool($0.requiresClients) }, store: { .integer($0.requiresClients ? 1 : 0) },
            load: { r, v in r.requiresClients = (v.integer ?? 0) != 0 }),
        // The route's own switch; the body's schema for it is the setting's (RouteSettings.fields), and the wire shows
        // this one (Wire.route writes the route's fields after its settings).
        ResourceField(
            "intercept_enabled", input: nil, output: nil,
            read: { b, _, _ throws(ApiError) in
                if try b.bool("intercept_enabled").value == true {
                    throw RouteSettingChecks.notSupported(
                        "intercept_enabled", "this gateway has no request interception")
                }
            },
            show: { .bool($0.interceptEnabled) }, store: { .integer($0.interceptEnabled ? 1 : 0) },
            load: { r, v in r.interceptEnabled = (v.integer ?? 0) != 0 }),
        notYet(
            "egress_server_id", \.egressServerId, output: JSONSchema.string(nullable: true),
            "requests leave through this gateway's own network"),
        notYet(
            "data_plane_node_id", \.dataPlaneNodeId, output: JSONSchema.string(nullable: true),
            "one process serves every route"),
        ResourceField(
            "mtls_certificate_id",
            input: JSONSchema.only(.null, "Not supported yet (certificate secrets): only null"),
            output: JSONSchema.uuid(nullable: true),
            read: { b, _, _ throws(ApiError) in
                if try b.uuid("mtls_certificate_id").value != nil {
                    throw RouteSettingChecks.notSupported(
                        "mtls_certificate_id", "certificate secrets and mTLS to upstreams")
                }
            },
            show: { .string($0.mtlsCertificateId) }, store: { r in r.mtlsCertificateId.map(StoredValue.text) ?? .null },
            load: { r, v in r.mtlsCertificateId = v.text }),
        ResourceField(
            "collection_id",
            input: JSONSchema.token("1-128 printable ASCII characters", "[!-~]{1,128}", nullable: true),
            output: JSONSchema.string(nullable: true), sample: "sample-collection",
            read: { b, _, r throws(ApiError) in
                switch try b.string("collection_id") {
                case .absent: break
                case .null: r.collectionId = nil
                case .value(let s):
                    let t = s.trimmingASCIIWhitespace()
                    guard !t.isEmpty, t.count <= 128, t.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                        throw ApiError.invalid("collection_id", "must be an identifier of 1-128 printable characters")
                    }
                    r.collectionId = t
                }
            },
            show: { .string($0.collectionId) }, store: { r in r.collectionId.map(StoredValue.text) ?? .null },
            load: { r, v in r.collectionId = v.text }),
        ResourceField(
            "created_at", create: .none, update: .none, input: nil, output: JSONSchema.time(),
            show: { .string(Timestamp.format(millis: $0.createdAt)) }, store: { .integer($0.createdAt) },
            load: { r, v in r.createdAt = v.integer ?? 0 }),
        ResourceField(
            "updated_at", create: .none, update: .none, input: nil, output: JSONSchema.time(),
            show: { .string(Timestamp.format(millis: $0.updatedAt)) }, store: { .integer($0.updatedAt) },
            load: { r, v in r.updatedAt = v.integer ?? 0 }),
    ]

    /// A route with nothing set, for a table to fill (a store row).
    public static func blank() -> Route {
        Route(id: "", name: "", slug: "", baseEnvironment: "", createdAt: 0, updatedAt: 0)
    }

    static func flag(_ body: FieldReader, _ key: String) throws(ApiError) -> Bool? {
        switch try body.bool(key) {
        case .absent: return nil
        case .null: throw ApiError.invalid(key, "must be true or false (got null)")
        case .value(let v): return v
        }
    }

    /// A reference to something this version does not have yet: only null (or nothing) is taken.
    static func notYet(
        _ name: String, _ path: WritableKeyPath<Route, String?> & Sendable, output: JSONValue, _ what: String
    ) -> ResourceField<Route> {
        ResourceField(
            name, input: JSONSchema.only(.null, "Not supported yet: only null"), output: output,
            read: { b, _, _ throws(ApiError) in
                if try b.string(name).value != nil { throw RouteSettingChecks.notSupported(name, what) }
            },
            show: { .string($0[keyPath: path]) }, store: { r in r[keyPath: path].map(StoredValue.text) ?? .null },
            load: { r, v in r[keyPath: path] = v.text })
    }
}
