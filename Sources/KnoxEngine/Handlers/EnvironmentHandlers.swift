import KnoxCore
import KnoxStore

extension Engine {
    static let environmentFields: Set<String> = ["name", "display_name", "description", "color", "is_default"]

    /// `POST /v1/environments`.
    public func createEnvironment(_ body: JSONValue, _ ctx: RequestContext) async throws -> MutationResult {
        try require("environments:write", ctx.actor)
        let (tenantId, mode) = (tenantId, mode)
        return try await mutate(ctx, status: 201) { m in
            let r = try FieldReader(body: body, allowed: Engine.environmentFields)
            let name = try r.requiredString("name", maxLength: 63)
            guard Environment.isValidName(name) else {
                throw ApiError.invalid("name", "must match ^[a-z0-9_-]+$ and be at most 63 characters")
            }
            var env = Environment(
                id: Identifier.uuid(), name: name, displayName: Engine.defaultDisplayName(name), createdAt: m.now,
                updatedAt: m.now)
            try Engine.applyEnvironmentFields(r, to: &env)
            try m.checkLimit(.environments, m.limits.environments, "environment")
            guard try m.access.environment(name) == nil else {
                throw ApiError(.conflict, "An environment named \(name) already exists", field: "name")
            }
            try m.access.insert(env)
            if env.isDefault { try m.access.setDefaultEnvironment(name) }
            try m.audit("environment.created", "environment", env.id, ["name": .string(name)])
            return Wire.environment(env, tenantId: tenantId, mode: mode)
        }
    }

    /// `PATCH /v1/environments/:id` (id or name). Names are permanent: secret values are sealed to them.
    public func updateEnvironment(_ id: String, _ body: JSONValue, _ ctx: RequestContext) async throws -> MutationResult
    {
        try require("environments:write", ctx.actor)
        let (tenantId, mode) = (tenantId, mode)
        return try await mutate(ctx) { m in
            let r = try FieldReader(body: body, allowed: Engine.environmentFields)
            guard var env = try m.access.environment(id) else { throw ApiError.notFound("Environment") }
            guard !r.object.isEmpty else {
                throw ApiError(.validationError, "No valid fields provided; send at least one field to change")
            }
            if let name = try r.string("name").value, name != env.name {
                throw ApiError.refused(
                    "name", "cannot be changed (secret values are bound to it); create a new environment", .immutable)
            }
            let wasDefault = env.isDefault
            try Engine.applyEnvironmentFields(r, to: &env)
            if wasDefault && !env.isDefault {
                throw ApiError.refused("is_default", "make another environment the default instead", .currentState)
            }
            env.updatedAt = m.now
            try m.access.update(env)
            if env.isDefault && !wasDefault { try m.access.setDefaultEnvironment(env.name) }
            try m.audit(
                "environment.updated", "environment", env.id,
                ["changed_fields": .array(r.object.keys.map(JSONValue.string))])
            return Wire.environment(env, tenantId: tenantId, mode: mode)
        }
    }

    /// `DELETE /v1/environments/:id`: never `production` or the default; `in_use` while anything refers to it.
    public func deleteEnvironment(_ id: String, _ ctx: RequestContext) async throws -> MutationResult {
        try require("environments:write", ctx.actor)
        return try await mutate(ctx) { m in
            guard let env = try m.access.environment(id) else { throw ApiError.notFound("Environment") }
            guard env.name != Environment.production else {
                throw ApiError(.conflict, "production always exists and cannot be deleted", field: "id")
            }
            guard !env.isDefault else {
                throw ApiError(
                    .conflict, "\(env.name) is the default environment; make another one the default first", field: "id"
                )
            }
            let uses = try m.access.environmentUsage(env.name)
            guard uses.isEmpty else {
                throw ApiError(.inUse, "Environment \(env.name) is still used: \(uses.joined(separator: ", "))")
            }
            try m.access.deleteEnvironment(id: env.id)
            try m.audit("environment.deleted", "environment", env.id, ["name": .string(env.name)])
            return ["deleted": true]
        }
    }

    /// `GET /v1/environments` (not paginated), the default first.
    public func listEnvironments(_ query: [String: String], actor: Actor) async throws -> JSONValue {
        try require("environments:read", actor)
        _ = try QueryDescriptor.none.read(query)
        let (tenantId, mode) = (tenantId, mode)
        return .array(
            try await self.query { try $0.environments() }.map { Wire.environment($0, tenantId: tenantId, mode: mode) })
    }

    /// `GET /v1/environments/:id`.
    public func getEnvironment(_ id: String, actor: Actor) async throws -> JSONValue {
        try require("environments:read", actor)
        guard let env = try await query({ try $0.environment(id) }) else { throw ApiError.notFound("Environment") }
        return Wire.environment(env, tenantId: tenantId, mode: mode)
    }

    static func defaultDisplayName(_ name: String) -> String {
        name.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: " ")
    }

    static func applyEnvironmentFields(_ r: FieldReader, to env: inout Environment) throws(ApiError) {
        if let d = try r.text("display_name", maxLength: 100).value { env.displayName = d }
        switch try r.string("description") {
        case .absent: break
        case .null: env.description = nil
        case .value(let d):
            guard d.unicodeScalars.count <= 1000 else {
                throw ApiError.invalid("description", "must be at most 1000 characters")
            }
            env.description = d.isEmpty ? nil : d
        }
        if let color = try r.string("color").value {
            let b = Array(color.utf8)
            guard b.count == 7, b[0] == UInt8(ascii: "#"),
                b.dropFirst().allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit })
            else { throw ApiError.invalid("color", "must be a #rrggbb colour such as #6366f1") }
            env.color = color.lowercased()
        }
        switch try r.bool("is_default") {
        case .absent: break
        case .null: throw ApiError.invalid("is_default", "must be true or false (got null)")
        case .value(let v): env.isDefault = v
        }
    }
}
