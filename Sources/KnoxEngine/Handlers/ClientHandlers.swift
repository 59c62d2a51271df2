import KnoxCore
import KnoxStore

extension Engine {
    static let clientFields: Set<String> = [
        "name", "ip_address", "type", "ip_notes", "description", "enabled", "collection_id",
    ]

    /// `POST /v1/clients`.
    public func createClient(_ body: JSONValue, _ ctx: RequestContext) async throws -> MutationResult {
        try require("clients:write", ctx.actor)
        let tenantId = tenantId
        return try await mutate(ctx, status: 201) { m in
            let r = try FieldReader(body: body, allowed: Engine.clientFields)
            let name = try r.requiredString("name", maxLength: 200)
            guard let ip = try r.string("ip_address").value else { throw ApiError.invalid("ip_address", "is required") }
            var client = Client(
                id: Identifier.uuid(), name: name, type: .server,
                ipAddress: try RouteSettingsReader.ipRange(ip, field: "ip_address"), createdBy: m.context.actor.auditLabel,
                createdAt: m.now, updatedAt: m.now)
            try Engine.applyClientFields(r, to: &client)
            try m.checkLimit(.clients, m.limits.clients, "client")
            try m.access.insert(client)
            try m.audit(
                "client.created", "client", client.id, ["name": .string(name), "ip_address": .string(client.ipAddress)])
            return Wire.client(client, tenantId: tenantId)
        }
    }

    /// `PATCH /v1/clients/:id`.
    public func updateClient(_ id: String, _ body: JSONValue, _ ctx: RequestContext) async throws -> MutationResult {
        try require("clients:write", ctx.actor)
        let tenantId = tenantId
        return try await mutate(ctx) { m in
            let r = try FieldReader(body: body, allowed: Engine.clientFields)
            guard var client = try m.access.client(id: id.lowercased()) else { throw ApiError.notFound("Client") }
            guard !r.object.isEmpty else {
                throw ApiError(.validationError, "No valid fields provided; send at least one field to change")
            }
            if let name = try r.text("name", maxLength: 200).value { client.name = name }
            if let ip = try r.string("ip_address").value {
                client.ipAddress = try RouteSettingsReader.ipRange(ip, field: "ip_address")
            }
            try Engine.applyClientFields(r, to: &client)
            client.updatedAt = m.now
            try m.access.update(client)
            try m.audit("client.updated", "client", client.id, ["changed_fields": .array(r.object.keys.map(JSONValue.string))])
            return Wire.client(client, tenantId: tenantId)
        }
    }

    /// `DELETE /v1/clients/:id`: the client and all its route assignments.
    public func deleteClient(_ id: String, _ ctx: RequestContext) async throws -> MutationResult {
        try require("clients:write", ctx.actor)
        return try await mutate(ctx) { m in
            guard let client = try m.access.client(id: id.lowercased()) else { throw ApiError.notFound("Client") }
            try m.access.deleteClient(id: client.id)
            try m.audit("client.deleted", "client", client.id, ["name": .string(client.name)])
            return ["deleted": true]
        }
    }

    static func applyClientFields(_ r: FieldReader, to client: inout Client) throws(ApiError) {
        switch try r.string("type") {
        case .absent: break
        case .null: throw ApiError.invalid("type", "must be user or server (got null)")
        case .value(let t):
            guard let kind = Client.Kind(rawValue: t) else {
                throw ApiError.invalid("type", "must be user or server (got \"\(t.prefix(32))\")")
            }
            client.type = kind
        }
        switch try r.objectField("ip_notes") {
        case .absent: break
        case .null: client.ipNotes = JSONObject()
        case .value(let notes):
            guard JSONValue.object(notes).serialized().utf8.count <= 16_384 else {
                throw ApiError.invalid("ip_notes", "must be at most 16 KiB as JSON")
            }
            client.ipNotes = notes
        }
        switch try r.string("description") {
        case .absent: break
        case .null: client.description = nil
        case .value(let d):
            guard d.count <= 1000 else { throw ApiError.invalid("description", "must be at most 1000 characters") }
            client.description = d.isEmpty ? nil : d
        }
        switch try r.bool("enabled") {
        case .absent: break
        case .null: throw ApiError.invalid("enabled", "must be true or false (got null)")
        case .value(let e): client.enabled = e
        }
        switch try r.string("collection_id") {
        case .absent: break
        case .null: client.collectionId = nil
        case .value(let c):
            guard !c.isEmpty, c.count <= 128 else { throw ApiError.invalid("collection_id", "must be 1-128 characters") }
            client.collectionId = c
        }
    }

    // MARK: - Reads

    public static let clientSortKeys = ["created_at", "name", "type", "ip_address"]

    /// `GET /v1/clients`.
    public func listClients(_ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("clients:read", actor)
        let q = try QueryReader(query, allowed: pageParameters.union(["type"]))
        let request = try PageRequest.parse(query, sortable: Engine.clientSortKeys, defaultSort: "created_at", defaultOrder: .desc)
        let rawType = try q.text("type")
        let type = rawType.flatMap(Client.Kind.init(rawValue:))
        if let rawType, type == nil {
            throw ApiError.invalid("type", "must be user or server (got \"\(rawType.prefix(32))\")")
        }
        let tenantId = tenantId
        return try await self.query { try $0.clients(request, type: type) }.map { Wire.client($0, tenantId: tenantId) }
    }

    /// `GET /v1/clients/:id` with its route assignments.
    public func getClient(_ id: String, actor: Actor) async throws -> JSONValue {
        try require("clients:read", actor)
        let tenantId = tenantId
        guard let json = try await query({ access -> JSONValue? in
            guard let client = try access.client(id: id.lowercased()) else { return nil }
            return Wire.client(client, tenantId: tenantId, assignments: try access.assignmentDetails(clientId: client.id))
        }) else { throw ApiError.notFound("Client") }
        return json
    }
}
