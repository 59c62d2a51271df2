import KnoxCore
import KnoxStore

extension Engine {
    /// Sort keys of `GET /v1/routes`.
    public static let routeSortKeys = ["created_at", "name", "enabled"]

    /// The query of `GET /v1/routes`.
    public static let routeQuery = QueryDescriptor.page(
        sort: routeSortKeys, default: "created_at", .desc,
        filters: [QueryParameter("enabled", .boolean, "Only enabled or disabled routes")])

    /// `GET /v1/routes`, its query as sent.
    public func listRoutes(_ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("routes:read", actor)
        return try await listRoutes(Engine.routeQuery.read(query), actor: actor)
    }

    /// `GET /v1/routes`.
    public func listRoutes(_ q: QueryRequest, actor: Actor) async throws -> Page<JSONValue> {
        try require("routes:read", actor)
        let (request, enabled) = (q.page, q.bool("enabled"))
        let (tenantId, mode) = (tenantId, mode)
        return try await self.query { access in
            try access.routes(request, enabled: enabled).map { route in
                Wire.route(
                    RouteView(route: route, configs: try access.routeConfigs(routeId: route.id)), tenantId: tenantId,
                    mode: mode)
            }
        }
    }

    /// A route with its settings rows, by id or slug.
    public func routeView(_ id: String, actor: Actor) async throws -> RouteView {
        try require("routes:read", actor)
        return try await findRouteView(id)
    }

    func findRouteView(_ id: String) async throws -> RouteView {
        guard
            let view = try await query({ access -> RouteView? in
                guard let route = try access.route(idOrSlug: id) else { return nil }
                return RouteView(route: route, configs: try access.routeConfigs(routeId: route.id))
            })
        else { throw ApiError.notFound("Route") }
        return view
    }

    /// `GET /v1/routes/:id`.
    public func getRoute(_ id: String, actor: Actor) async throws -> JSONValue {
        Wire.route(try await routeView(id, actor: actor), tenantId: tenantId, mode: mode)
    }

    /// `GET /v1/routes/:id/environments`: the base environment first, then each override.
    public func routeEnvironments(_ id: String, actor: Actor) async throws -> JSONValue {
        let view = try await routeView(id, actor: actor)
        let base = view.route.baseEnvironment
        let ordered =
            view.configs.filter { $0.environmentName == base } + view.configs.filter { $0.environmentName != base }
        return .array(ordered.map { Wire.routeEnvironment($0, view: view) })
    }

    /// `GET /v1/routes/:id/clients`.
    public func routeClients(_ id: String, actor: Actor) async throws -> JSONValue {
        let view = try await routeView(id, actor: actor)
        let routeId = view.route.id
        return .array(try await query { try $0.assignmentDetails(routeId: routeId) }.map(Wire.routeClient))
    }

    /// The query of `GET /v1/routes/:id/logs`.
    public static let routeLogQuery = QueryDescriptor.page(
        sort: ["ts", "status_code", "latency_ms"], default: "ts", .desc)

    /// `GET /v1/routes/:id/logs`, newest first.
    public func routeLogs(_ id: String, _ query: [String: String], actor: Actor) async throws -> Page<JSONValue> {
        try require("log:read", actor)
        let request = try Engine.routeLogQuery.read(query).page
        let view = try await findRouteView(id)
        let routeId = view.route.id
        return try await self.query { try $0.requestLogs(routeId: routeId, request) }.map(Wire.routeLog)
    }
}
