import KnoxCore
import KnoxStore

extension Engine {
    /// Sort keys of `GET /v1/routes`.

    /// The query of `GET /v1/routes`.
    public static let routeQuery = QueryDescriptor.page(
        sort: Route.sortKeys, default: "created_at", .desc,
        filters: [QueryParameter("enabled", .boolean, "Only enabled or disabled routes")])

    /// `GET /v1/routes`.
    public func routes(_ q: QueryRequest, actor: Actor) async throws -> Page<RouteView> {
        try require("routes:read", actor)
        let (request, enabled) = (q.page, q.bool("enabled"))
        return try await self.query { access in
            try access.routes(request, enabled: enabled).map { route in
                RouteView(route: route, configs: try access.routeConfigs(routeId: route.id))
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

    /// `GET /v1/routes/:id/clients`: the clients assigned to a route, in each environment.
    public func routeAssignments(_ id: String, actor: Actor) async throws -> [AssignmentDetail] {
        let view = try await routeView(id, actor: actor)
        let routeId = view.route.id
        return try await query { try $0.assignmentDetails(routeId: routeId) }
    }

    /// The query of `GET /v1/routes/:id/logs`.
    public static let routeLogQuery = QueryDescriptor.page(
        sort: ["ts", "status_code", "latency_ms"], default: "ts", .desc)

    /// `GET /v1/routes/:id/logs`, newest first.
    public func routeLogs(_ id: String, _ q: QueryRequest, actor: Actor) async throws -> Page<RequestLogEntry> {
        try require("log:read", actor)
        let request = q.page
        let view = try await findRouteView(id)
        let routeId = view.route.id
        return try await self.query { try $0.requestLogs(routeId: routeId, request) }
    }
}
