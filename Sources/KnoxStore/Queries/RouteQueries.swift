import GRDB
import KnoxCore

/// A place where a route refers to a secret.
public struct SecretUse: Sendable, Equatable {
    public let routeId: String
    public let routeName: String
    public let environmentName: String
    /// `inject_headers_json.Authorization`, `signing_secret_id`, …
    public let field: String
    public let secretId: String
    /// True when the route refers to the secret by name (so a rename would break it).
    public let byName: Bool

    public init(
        routeId: String, routeName: String, environmentName: String, field: String, secretId: String, byName: Bool
    ) {
        self.routeId = routeId
        self.routeName = routeName
        self.environmentName = environmentName
        self.field = field
        self.secretId = secretId
        self.byName = byName
    }
}

extension StoreAccess {
    public static let routeSortColumns = sortColumns(Route.sortKeys)

    public func routes(_ request: PageRequest, enabled: Bool?) throws -> Page<Route> {
        var conditions: [String] = []
        var args: StatementArguments = []
        if let enabled {
            conditions.append("enabled = ?")
            args += [enabled]
        }
        return try page(
            Route.self, from: "routes", where: conditions, arguments: args, request: request,
            sortColumns: Self.routeSortColumns)
    }

    public func allRoutes() throws -> [Route] {
        try Route.fetchAll(db, sql: "SELECT * FROM routes ORDER BY created_at, id")
    }

    public func route(id: String) throws -> Route? {
        try Route.filter(Column("id") == id).fetchOne(db)
    }

    /// By id or slug.
    public func route(idOrSlug: String) throws -> Route? {
        try Route.fetchOne(db, sql: "SELECT * FROM routes WHERE id = ? OR slug = ?", arguments: [idOrSlug, idOrSlug])
    }

    public func routeNameTaken(_ name: String, excluding id: String?) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS(SELECT 1 FROM routes WHERE name = ? AND id IS NOT ?)", arguments: [name, id])
            ?? false
    }

    public func slugTaken(_ slug: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM routes WHERE slug = ?)", arguments: [slug]) ?? false
    }

    public func insert(_ route: Route) throws { try route.insert(db) }
    public func update(_ route: Route) throws { try route.update(db) }

    public func deleteRoute(id: String) throws {
        try db.execute(sql: "DELETE FROM routes WHERE id = ?", arguments: [id])
    }

    public func routeConfigs(routeId: String) throws -> [RouteEnvironmentConfig] {
        try RouteEnvironmentConfig.fetchAll(
            db, sql: "SELECT * FROM route_environment_configs WHERE route_id = ? ORDER BY created_at, environment_name",
            arguments: [routeId])
    }

    public func allRouteConfigs() throws -> [RouteEnvironmentConfig] {
        try RouteEnvironmentConfig.fetchAll(
            db, sql: "SELECT * FROM route_environment_configs ORDER BY route_id, created_at, environment_name")
    }

    /// Inserts or replaces the row for (route, environment).
    public func save(_ config: RouteEnvironmentConfig) throws {
        try db.execute(
            sql: "DELETE FROM route_environment_configs WHERE route_id = ? AND environment_name = ?",
            arguments: [config.routeId, config.environmentName])
        try config.insert(db)
    }

    public func deleteRouteConfig(routeId: String, environment: String) throws -> Bool {
        try db.execute(
            sql: "DELETE FROM route_environment_configs WHERE route_id = ? AND environment_name = ?",
            arguments: [routeId, environment])
        return db.changesCount > 0
    }

    /// Replaces the secret references recorded for one environment of a route.
    public func replaceSecretRefs(
        routeId: String, environment: String, refs: [(field: String, secretId: String, byName: Bool)]
    )
        throws
    {
        try db.execute(
            sql: "DELETE FROM route_secret_refs WHERE route_id = ? AND environment_name = ?",
            arguments: [routeId, environment])
        for ref in refs {
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO route_secret_refs (route_id, environment_name, field, secret_id, by_name)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [routeId, environment, ref.field, ref.secretId, ref.byName])
        }
    }

    /// Every place a route refers to `secretId`.
    public func secretUses(secretId: String) throws -> [SecretUse] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT r.route_id, routes.name AS route_name, r.environment_name, r.field, r.secret_id, r.by_name
                FROM route_secret_refs r JOIN routes ON routes.id = r.route_id
                WHERE r.secret_id = ? ORDER BY routes.name, r.environment_name, r.field
                """,
            arguments: [secretId]
        ).map {
            SecretUse(
                routeId: $0["route_id"], routeName: $0["route_name"], environmentName: $0["environment_name"],
                field: $0["field"], secretId: $0["secret_id"], byName: $0["by_name"])
        }
    }
}
