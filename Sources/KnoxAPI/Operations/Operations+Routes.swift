import KnoxCore
import KnoxEngine

extension Operations {
    static let routes: [Operation] = [
        Operation(
            "GET", "/v1/routes", id: "listRoutes", "List routes", tag: "Routes", query: Engine.routeQuery,
            response: "Route", kind: .page
        ) { i in .page(try await i.engine.listRoutes(i.query, actor: i.actor)) },
        Operation(
            "POST", "/v1/routes", id: "createRoute", "Create a route", tag: "Routes", body: .required,
            request: "RouteCreate", response: "Route", kind: .single(status: 201)
        ) { i in .mutation(try await i.engine.createRoute(try i.requiredBody(), i.context).answer) },
        Operation(
            "GET", "/v1/routes/{id}", id: "getRoute", "Get a route (by id or slug)", tag: "Routes", response: "Route"
        ) { i in .single(try await i.engine.getRoute(i.parameter("id"), actor: i.actor)) },
        Operation(
            "PATCH", "/v1/routes/{id}", id: "updateRoute", "Update a route", tag: "Routes", body: .required,
            request: "RouteUpdate", response: "Route"
        ) { i in .mutation(try await i.engine.updateRoute(i.parameter("id"), try i.requiredBody(), i.context).answer) },
        Operation(
            "DELETE", "/v1/routes/{id}", id: "deleteRoute", "Delete a route, its overrides and assignments",
            tag: "Routes", response: "Deleted"
        ) { i in .mutation(try await i.engine.deleteRoute(i.parameter("id"), i.context).answer) },
        Operation(
            "GET", "/v1/routes/{id}/logs", id: "listRouteLogs", "List a route's request log", tag: "Routes",
            query: Engine.routeLogQuery,
            response: "RouteLogEntry", kind: .page
        ) { i in .page(try await i.engine.routeLogs(i.parameter("id"), i.query, actor: i.actor)) },
    ]

    static let routeEnvironments: [Operation] = [
        Operation(
            "GET", "/v1/routes/{id}/environments", id: "listRouteEnvironments",
            "List a route's environment configurations (base first)", tag: "Routes", response: "RouteEnvironment",
            kind: .list
        ) { i in .single(try await i.engine.routeEnvironments(i.parameter("id"), actor: i.actor)) },
        Operation(
            "PUT", "/v1/routes/{id}/environments/{env}", id: "setRouteEnvironment",
            "Create or replace an environment override", tag: "Routes", body: .optional,
            request: "RouteEnvironmentInput",
            response: "RouteEnvironment"
        ) { i in
            .mutation(
                try await i.engine.putRouteEnvironment(
                    i.parameter("id"), i.parameter("env"), i.body, i.context
                ).answer)
        },
        Operation(
            "DELETE", "/v1/routes/{id}/environments/{env}", id: "deleteRouteEnvironment",
            "Remove an environment override", tag: "Routes", response: "Deleted"
        ) { i in
            .mutation(
                try await i.engine.deleteRouteEnvironment(i.parameter("id"), i.parameter("env"), i.context).answer)
        },
        Operation(
            "GET", "/v1/routes/{id}/clients", id: "listRouteClients", "List the clients assigned to a route",
            tag: "Routes", response: "RouteClient", kind: .list
        ) { i in .single(try await i.engine.routeClients(i.parameter("id"), actor: i.actor)) },
        Operation(
            "PUT", "/v1/routes/{id}/clients/{client_id}", id: "assignRouteClient",
            "Assign a client to a route in one environment", tag: "Routes", body: .optional,
            request: "RouteClientInput", response: "RouteClient"
        ) { i in
            .mutation(
                try await i.engine.assignClient(i.parameter("id"), i.parameter("client_id"), i.body, i.context).answer)
        },
        Operation(
            "DELETE", "/v1/routes/{id}/clients/{client_id}", id: "unassignRouteClient",
            "Remove a client from a route in one environment", tag: "Routes",
            query: .environment("Environment of the assignment (default: base)"), body: .optional,
            request: "RouteClientInput", response: "Deleted"
        ) { i in
            .mutation(
                try await i.engine.unassignClient(
                    i.parameter("id"), i.parameter("client_id"), environment: i.query["environment"], i.body, i.context
                ).answer)
        },
    ]
}
