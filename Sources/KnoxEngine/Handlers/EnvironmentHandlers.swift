import KnoxCore
import KnoxStore

extension Engine {
    /// The names a body may carry. An update takes the same ones: an unchanged `name` is accepted there, another one
    /// refused (`Environment.fields` reads it).
    static let environmentFields = Environment.fields.bodyNames(create: true)

    /// `POST /v1/environments`.
    public func createEnvironment(_ change: Change<Environment>, _ ctx: RequestContext) async throws
        -> MutationResult<Environment>
    {
        try require("environments:write", ctx.actor)
        let (tenantId, mode) = (tenantId, mode)
        return try await mutate(ctx, status: 201, wire: { Wire.environment($0, tenantId: tenantId, mode: mode) }) { m in
            let r = change.body
            var env = Environment.blank(id: Identifier.uuid(), at: m.now)
            for field in Environment.fields { try field.read(r, isCreate: true, into: &env) }
            try m.checkLimit(.environments, m.limits.environments, "environment")
            guard try m.access.environment(env.name) == nil else {
                throw ApiError(.conflict, "An environment named \(env.name) already exists", field: "name")
            }
            try m.access.insert(env)
            if env.isDefault { try m.access.setDefaultEnvironment(env.name) }
            try m.audit("environment.created", "environment", env.id, ["name": .string(env.name)])
            return env
        }
    }

    /// `PATCH /v1/environments/:id` (id or name). Names are permanent: secret values are sealed to them.
    public func updateEnvironment(_ id: String, _ change: Change<Environment>, _ ctx: RequestContext) async throws
        -> MutationResult<Environment>
    {
        try require("environments:write", ctx.actor)
        let (tenantId, mode) = (tenantId, mode)
        return try await mutate(ctx, wire: { Wire.environment($0, tenantId: tenantId, mode: mode) }) { m in
            let r = change.body
            guard var env = try m.access.environment(id) else { throw ApiError.notFound("Environment") }
            guard !change.isEmpty else {
                throw ApiError(.validationError, "No valid fields provided; send at least one field to change")
            }
            let wasDefault = env.isDefault
            for field in Environment.fields { try field.read(r, isCreate: false, into: &env) }
            if wasDefault && !env.isDefault {
                throw ApiError.refused("is_default", "make another environment the default instead", .currentState)
            }
            env.updatedAt = m.now
            try m.access.update(env)
            if env.isDefault && !wasDefault { try m.access.setDefaultEnvironment(env.name) }
            try m.audit(
                "environment.updated", "environment", env.id,
                ["changed_fields": .array(change.names.map(JSONValue.string))])
            return env
        }
    }

    /// `DELETE /v1/environments/:id`: never `production` or the default; `in_use` while anything refers to it.
    public func deleteEnvironment(_ id: String, _ ctx: RequestContext) async throws -> MutationResult<Removal> {
        try require("environments:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.removal) { m in
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
            return .deleted
        }
    }

    /// `GET /v1/environments` (not paginated), the default first.
    public func environments(actor: Actor) async throws -> [Environment] {
        try require("environments:read", actor)
        return try await self.query { try $0.environments() }
    }

    /// `GET /v1/environments/:id` (by id or name).
    public func environment(_ id: String, actor: Actor) async throws -> Environment {
        try require("environments:read", actor)
        guard let env = try await query({ try $0.environment(id) }) else { throw ApiError.notFound("Environment") }
        return env
    }
}
