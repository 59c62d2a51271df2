import KnoxCore
import KnoxStore

extension Engine {
    /// `PUT /v1/routes/:id/environments/:env`.
    ///
    /// For an override environment the body replaces the whole override (fields left out inherit the base). For the
    /// route's base environment the body changes only the fields it carries, since the base must stay complete.
    public func putRouteEnvironment(
        _ id: String, _ environment: String, _ change: Change<RouteSettings>, _ ctx: RequestContext
    ) async throws -> MutationResult<RouteEnvironmentDetail> {
        try require("routes:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.routeEnvironment) { m in
            let r = change.body
            guard let route = try m.access.route(idOrSlug: id) else { throw ApiError.notFound("Route") }
            // The environment is named by the path: one that does not exist is not found (not a bad field).
            guard let env = try m.access.environment(environment), env.name == environment else {
                throw ApiError.notFound("Environment")
            }
            var configs = try m.access.routeConfigs(routeId: route.id)
            let isBase = environment == route.baseEnvironment
            let existing = configs.firstIndex { $0.environmentName == environment }
            var config =
                existing.map { configs[$0] }
                ?? RouteEnvironmentConfig(
                    id: Identifier.uuid(), routeId: route.id, environmentName: environment,
                    settings: isBase ? .baseDefaults : RouteSettings(), createdAt: m.now, updatedAt: m.now)
            if !isBase { config.settings = RouteSettings() }
            let reader = RouteSettingsReader(reader: r, isBase: isBase, ownListeners: m.ownListeners)
            try reader.apply(to: &config.settings)
            try reader.applyEnvironmentOnly(to: &config.settings)
            config.updatedAt = m.now
            let base =
                isBase
                ? config.settings
                : (configs.first { $0.environmentName == route.baseEnvironment }?.settings ?? .baseDefaults)
            try m.checkEffective(
                isBase ? base : base.overlaid(with: config.settings), environment: environment, isBase: isBase)
            let refs = try m.secretRefs(in: config.settings)
            try m.access.save(config)
            try m.access.replaceSecretRefs(routeId: route.id, environment: environment, refs: refs)
            if let i = existing { configs[i] = config } else { configs.append(config) }
            try m.audit(
                "route.environment_set", "route", route.id,
                ["environment": .string(environment), "fields": .array(change.names.map(JSONValue.string))])
            return RouteEnvironmentDetail(config: config, route: RouteView(route: route, configs: configs))
        }
    }

    /// `DELETE /v1/routes/:id/environments/:env`: the environment falls back to the base configuration.
    public func deleteRouteEnvironment(_ id: String, _ environment: String, _ ctx: RequestContext) async throws
        -> MutationResult<Removal>
    {
        try require("routes:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.removal) { m in
            guard let route = try m.access.route(idOrSlug: id) else { throw ApiError.notFound("Route") }
            guard environment != route.baseEnvironment else {
                throw ApiError(
                    .conflict, "\(environment) is the route's base environment; its configuration cannot be removed",
                    field: "environment")
            }
            guard try m.access.deleteRouteConfig(routeId: route.id, environment: environment) else {
                throw ApiError.notFound("Environment config")
            }
            try m.access.replaceSecretRefs(routeId: route.id, environment: environment, refs: [])
            try m.audit("route.environment_deleted", "route", route.id, ["environment": .string(environment)])
            return .deleted
        }
    }

    /// `PUT /v1/routes/:id/clients/:client_id` with `{"environment": …}` (default: the route's base environment).
    public func assignClient(_ routeId: String, _ clientId: String, _ input: AssignmentInput, _ ctx: RequestContext)
        async throws -> MutationResult<AssignmentDetail?>
    {
        try require("routes:write", ctx.actor)
        return try await mutate(ctx, wire: { $0.map(Wire.routeClient) ?? .null }) { m in
            guard let route = try m.access.route(idOrSlug: routeId) else { throw ApiError.notFound("Route") }
            guard let client = try m.access.client(id: clientId.lowercased()) else { throw ApiError.notFound("Client") }
            let environment = input.environment ?? route.baseEnvironment
            _ = try m.existingEnvironment(environment, field: "environment")
            let assignment = ClientAssignment(
                routeId: route.id, clientId: client.id, environmentName: environment, createdAt: m.now)
            if try !m.access.assignmentExists(assignment) { try m.access.insert(assignment) }
            try m.audit(
                "route.client_assigned", "route", route.id,
                ["client_id": .string(client.id), "environment": .string(environment)])
            return try m.access.assignmentDetails(routeId: route.id, clientId: client.id)
                .first { $0.assignment.environmentName == environment }
        }
    }

    /// `DELETE /v1/routes/:id/clients/:client_id` (environment from the body or `?environment=`, default base).
    public func unassignClient(_ routeId: String, _ clientId: String, _ input: AssignmentInput, _ ctx: RequestContext)
        async throws -> MutationResult<Removal>
    {
        try require("routes:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.removal) { m in
            guard let route = try m.access.route(idOrSlug: routeId) else { throw ApiError.notFound("Route") }
            let env = input.environment ?? route.baseEnvironment
            guard try m.access.deleteAssignment(routeId: route.id, clientId: clientId.lowercased(), environment: env)
            else {
                throw ApiError(.notFound, "Client is not assigned to this route in environment \(env)")
            }
            try m.audit(
                "route.client_unassigned", "route", route.id,
                ["client_id": .string(clientId.lowercased()), "environment": .string(env)])
            return .deleted
        }
    }
}
