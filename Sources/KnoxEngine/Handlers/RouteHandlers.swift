import KnoxCore
import KnoxStore

extension Engine {
    static let routeFieldsOnCreate = Route.fields.bodyNames(create: true)
    static let routeFieldsOnUpdate = Route.fields.bodyNames(create: false)

    /// `POST /v1/routes`.
    public func createRoute(_ change: Change<Route>, _ ctx: RequestContext) async throws -> MutationResult<RouteView> {
        try require("routes:write", ctx.actor)
        let (tenantId, mode) = (tenantId, mode)
        return try await mutate(ctx, status: 201, wire: { Wire.route($0, tenantId: tenantId, mode: mode) }) { m in
            let r = change.body
            let name = try r.requiredString("name", maxLength: 200)
            guard r.has("target_base_url") else { throw ApiError.invalid("target_base_url", "is required") }
            let baseEnv = try r.text("base_environment", maxLength: 63).value ?? m.defaultEnvironmentName()
            _ = try m.existingEnvironment(baseEnv, field: "base_environment")
            var route = Route(
                id: Identifier.uuid(), name: name, slug: "", baseEnvironment: baseEnv, createdAt: m.now,
                updatedAt: m.now)
            try Engine.applyRouteFields(r, isCreate: true, to: &route)
            var settings = RouteSettings.baseDefaults
            try RouteSettingsReader(reader: r, isBase: true, ownListeners: m.ownListeners).apply(to: &settings)
            try m.checkEffective(settings, environment: baseEnv, isBase: true)
            let refs = try m.secretRefs(in: settings)
            try m.checkLimit(.routes, m.limits.routes, "route")
            guard try !m.access.routeNameTaken(name) else {
                throw ApiError(.conflict, "A route named \"\(name)\" already exists", field: "name")
            }
            if let slug = try r.text("slug", maxLength: 63).value {
                guard Slug.isValid(slug) else {
                    throw ApiError.invalid("slug", "must be 1-63 characters of a-z, 0-9 and -")
                }
                guard try !m.access.slugTaken(slug) else {
                    throw ApiError(.conflict, "A route with slug \"\(slug)\" already exists", field: "slug")
                }
                route.slug = slug
            } else {
                route.slug = try Engine.freeSlug(Slug.derive(from: name), m.access)
            }
            let config = RouteEnvironmentConfig(
                id: Identifier.uuid(), routeId: route.id, environmentName: baseEnv, settings: settings,
                createdAt: m.now, updatedAt: m.now)
            try m.access.insert(route)
            try m.access.save(config)
            try m.access.replaceSecretRefs(routeId: route.id, environment: baseEnv, refs: refs)
            try m.audit("route.created", "route", route.id, ["name": .string(name), "slug": .string(route.slug)])
            return RouteView(route: route, configs: [config])
        }
    }

    /// `PATCH /v1/routes/:id` (id or slug).
    public func updateRoute(_ id: String, _ change: Change<Route>, _ ctx: RequestContext) async throws
        -> MutationResult<RouteView>
    {
        try require("routes:write", ctx.actor)
        let (tenantId, mode) = (tenantId, mode)
        return try await mutate(ctx, wire: { Wire.route($0, tenantId: tenantId, mode: mode) }) { m in
            let r = change.body
            guard var route = try m.access.route(idOrSlug: id) else { throw ApiError.notFound("Route") }
            guard !change.isEmpty else {
                throw ApiError(.validationError, "No valid fields provided; send at least one field to change")
            }
            switch try r.string("slug") {
            case .absent: break
            case .null: throw ApiError.invalid("slug", "must be a string: a route always has its slug (got null)")
            case .value(let slug) where slug != route.slug:
                throw ApiError.refused(
                    "slug", "cannot be changed once the route exists (it is \"\(route.slug)\")", .immutable)
            case .value: break
            }
            if let name = try r.text("name", maxLength: 200).value, name != route.name {
                guard try !m.access.routeNameTaken(name, excluding: route.id) else {
                    throw ApiError(.conflict, "A route named \"\(name)\" already exists", field: "name")
                }
                route.name = name
            }
            try Engine.applyRouteFields(r, isCreate: false, to: &route)
            var configs = try m.access.routeConfigs(routeId: route.id)
            let baseIndex = configs.firstIndex { $0.environmentName == route.baseEnvironment }
            var base =
                baseIndex.map { configs[$0] }
                ?? RouteEnvironmentConfig(
                    id: Identifier.uuid(), routeId: route.id, environmentName: route.baseEnvironment,
                    settings: .baseDefaults, createdAt: m.now, updatedAt: m.now)
            try RouteSettingsReader(reader: r, isBase: true, ownListeners: m.ownListeners).apply(to: &base.settings)
            base.updatedAt = m.now
            try m.checkEffective(base.settings, environment: route.baseEnvironment, isBase: true)
            for o in configs where o.environmentName != route.baseEnvironment {
                try m.checkEffective(
                    base.settings.overlaid(with: o.settings), environment: o.environmentName, isBase: false)
            }
            let refs = try m.secretRefs(in: base.settings)
            route.updatedAt = m.now
            try m.access.update(route)
            try m.access.save(base)
            try m.access.replaceSecretRefs(routeId: route.id, environment: route.baseEnvironment, refs: refs)
            if let i = baseIndex { configs[i] = base } else { configs.insert(base, at: 0) }
            try m.audit(
                "route.updated", "route", route.id, ["changed_fields": .array(change.names.map(JSONValue.string))])
            return RouteView(route: route, configs: configs)
        }
    }

    /// `DELETE /v1/routes/:id`: the route, its environment configs and its client assignments.
    public func deleteRoute(_ id: String, _ ctx: RequestContext) async throws -> MutationResult<Removal> {
        try require("routes:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.removal) { m in
            guard let route = try m.access.route(idOrSlug: id) else { throw ApiError.notFound("Route") }
            try m.access.deleteRoute(id: route.id)
            try m.audit("route.deleted", "route", route.id, ["name": .string(route.name), "slug": .string(route.slug)])
            return .deleted
        }
    }

    /// Route fields that are not per-environment settings (those `Route.fields` reads itself).
    static func applyRouteFields(_ r: FieldReader, isCreate: Bool, to route: inout Route) throws(ApiError) {
        for field in Route.fields where field.readsItself { try field.read(r, isCreate: isCreate, into: &route) }
    }

    /// `base`, or `base-2`, `base-3`… whichever is free.
    static func freeSlug(_ base: String, _ access: some RouteStore) throws -> String {
        if try !access.slugTaken(base) { return base }
        var n = 2
        while try access.slugTaken(Slug.numbered(base, n)) { n += 1 }
        return Slug.numbered(base, n)
    }
}
