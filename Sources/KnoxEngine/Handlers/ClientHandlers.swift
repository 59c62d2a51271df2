import KnoxCore
import KnoxDataPlane
import KnoxStore

extension Engine {
    static let clientFields = Client.fields.bodyNames(create: true)

    /// The client's address, canonical, refusing ranges wider than the configured prefixes (and `/0` always) unless
    /// the request says `allow_wide_range: true`: a client's address logs it in on routes with `requires_clients`.
    static func clientAddress(_ text: String, _ r: FieldReader, config: KnoxConfig) throws(ApiError) -> (
        String, wide: Bool
    ) {
        let canonical = try RouteSettingChecks.ipRange(text, field: "ip_address")
        let allowWide = try r.bool("allow_wide_range").value ?? false
        guard let range = try? IPRange.parse(canonical).get() else { return (canonical, false) }
        let widest = range.network.isIPv4 ? config.widestClientPrefixIPv4 : config.widestClientPrefixIPv6
        let wide = range.prefixLength == 0 || range.prefixLength < widest
        if wide && !allowWide {
            let family = range.network.isIPv4 ? "IPv4" : "IPv6"
            throw ApiError.refused(
                "ip_address",
                "\(canonical) is wider than /\(widest), the widest \(family) client range allowed ([clients] in config.toml); "
                    + "every address in it could call the routes this client is assigned to. "
                    + "Send \"allow_wide_range\": true to create it anyway", .operatorPolicy)
        }
        return (canonical, wide)
    }

    /// `POST /v1/clients`.
    public func createClient(_ change: Change<Client>, _ ctx: RequestContext) async throws -> MutationResult<Client> {
        try require("clients:write", ctx.actor)
        let tenantId = tenantId
        let config = config
        return try await mutate(ctx, status: 201, wire: { Wire.client($0, tenantId: tenantId) }) { m in
            let r = change.body
            var client = Client.blank(id: Identifier.uuid(), at: m.now)
            client.createdBy = m.context.actor.auditLabel
            var wide = false
            for field in Client.fields {
                guard field.name == "ip_address" else {
                    try field.read(r, isCreate: true, into: &client)
                    continue
                }
                guard let ip = try r.string("ip_address").value else {
                    throw ApiError.invalid("ip_address", "is required")
                }
                (client.ipAddress, wide) = try Engine.clientAddress(ip, r, config: config)
            }
            try m.checkLimit(.clients, m.limits.clients, "client")
            try m.access.insert(client)
            var details: JSONObject = ["name": .string(client.name), "ip_address": .string(client.ipAddress)]
            if wide { details["allow_wide_range"] = true }
            try m.audit("client.created", "client", client.id, details)
            return client
        }
    }

    /// `PATCH /v1/clients/:id`.
    public func updateClient(_ id: String, _ change: Change<Client>, _ ctx: RequestContext) async throws
        -> MutationResult<Client>
    {
        try require("clients:write", ctx.actor)
        let tenantId = tenantId
        let config = config
        return try await mutate(ctx, wire: { Wire.client($0, tenantId: tenantId) }) { m in
            let r = change.body
            guard var client = try m.access.client(id: id.lowercased()) else { throw ApiError.notFound("Client") }
            guard !change.isEmpty else {
                throw ApiError(.validationError, "No valid fields provided; send at least one field to change")
            }
            var wide = false
            for field in Client.fields {
                guard field.name == "ip_address" else {
                    try field.read(r, isCreate: false, into: &client)
                    continue
                }
                // Only a changed address is checked against the widest prefix: an edit that keeps it needs no opt-in.
                if let ip = try r.nonNullString("ip_address"),
                    try RouteSettingChecks.ipRange(ip, field: "ip_address") != client.ipAddress
                {
                    (client.ipAddress, wide) = try Engine.clientAddress(ip, r, config: config)
                }
            }
            client.updatedAt = m.now
            try m.access.update(client)
            var details: JSONObject = ["changed_fields": .array(change.names.map(JSONValue.string))]
            if wide { details["ip_address"] = .string(client.ipAddress); details["allow_wide_range"] = true }
            try m.audit("client.updated", "client", client.id, details)
            return client
        }
    }

    /// `DELETE /v1/clients/:id`: the client and all its route assignments.
    public func deleteClient(_ id: String, _ ctx: RequestContext) async throws -> MutationResult<Removal> {
        try require("clients:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.removal) { m in
            guard let client = try m.access.client(id: id.lowercased()) else { throw ApiError.notFound("Client") }
            try m.access.deleteClient(id: client.id)
            try m.audit("client.deleted", "client", client.id, ["name": .string(client.name)])
            return .deleted
        }
    }

    // MARK: - Reads

    /// The query of `GET /v1/clients`.
    public static let clientQuery = QueryDescriptor.page(
        sort: Client.sortKeys, default: "created_at", .desc,
        filters: [QueryParameter("type", .oneOf(Client.Kind.allCases.map(\.rawValue)), "Client type")])

    /// `GET /v1/clients`.
    public func clients(_ q: QueryRequest, actor: Actor) async throws -> Page<Client> {
        try require("clients:read", actor)
        let (request, type) = (q.page, q.text("type").flatMap(Client.Kind.init(rawValue:)))
        return try await self.query { try $0.clients(request, type: type) }
    }

    /// `GET /v1/clients/:id` with its route assignments.
    public func clientDetail(_ id: String, actor: Actor) async throws -> ClientDetail {
        try require("clients:read", actor)
        guard
            let detail = try await query({ access -> ClientDetail? in
                guard let client = try access.client(id: id.lowercased()) else { return nil }
                return ClientDetail(client: client, assignments: try access.assignmentDetails(clientId: client.id))
            })
        else { throw ApiError.notFound("Client") }
        return detail
    }
}
