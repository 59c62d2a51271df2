import KnoxCore

/// A route with everything needed to render it.
public struct RouteView: Sendable, Equatable {
    public let route: Route
    public let configs: [RouteEnvironmentConfig]

    public init(route: Route, configs: [RouteEnvironmentConfig]) {
        self.route = route
        self.configs = configs
    }

    /// The base environment's settings (defaults when its row is missing).
    public var baseSettings: RouteSettings {
        baseConfig?.settings ?? RouteSettings.baseDefaults
    }

    /// The base environment's row (nil only when it is missing).
    public var baseConfig: RouteEnvironmentConfig? { configs.first { $0.environmentName == route.baseEnvironment } }

    public var overrides: [RouteEnvironmentConfig] { configs.filter { $0.environmentName != route.baseEnvironment } }

    /// The base environment's row first, then each override (`GET /v1/routes/:id/environments`).
    public var baseFirst: [RouteEnvironmentConfig] { [baseConfig].compactMap { $0 } + overrides }
}

extension Wire {
    /// The route object: the union of the list row, `GET /v1/routes/:id` and the full row POST and PATCH return.
    /// Its settings are the base environment's, one entry per field of `RouteSettings.fields`.
    public static func route(_ view: RouteView, tenantId: String, mode: Mode) -> JSONValue {
        let r = view.route
        let s = view.baseSettings
        var o = JSONObject()
        for field in RouteSettings.fields where !field.environmentOnly { o[field.name] = field.wire(s) }
        // The route's own fields after its settings: its `intercept_enabled` is the route's (the base row's copy is
        // the environment's).
        for (key, value) in Route.fields.wire(r) { o[key] = value }
        o["tenant_id"] = .string(tenantId)
        o["sandbox"] = .bool(mode.isSandbox)
        o["methods"] = strings(s.allowedMethods)
        o["favicon_url"] = .null
        o["favicon_updated_at"] = .null
        o["favicon_data"] = .null
        o["environment_override_count"] = .int(view.overrides.count)
        o["configured_environments"] = .array(
            ([r.baseEnvironment] + view.overrides.map(\.environmentName)).map(JSONValue.string))
        return .object(o)
    }

    /// One environment row of `GET /v1/routes/:id/environments` (and the PUT answer): the settings that apply in that
    /// environment, and which of them the environment overrides.
    public static func routeEnvironment(_ config: RouteEnvironmentConfig, view: RouteView) -> JSONValue {
        let r = view.route
        let isBase = config.environmentName == r.baseEnvironment
        let s = isBase ? config.settings : view.baseSettings.overlaid(with: config.settings)
        var o = JSONObject()
        o["id"] = .string(config.id)
        o["route_id"] = .string(r.id)
        o["environment_name"] = .string(config.environmentName)
        o["is_base_environment"] = .bool(isBase)
        for field in RouteSettings.fields { o[field.name] = field.wire(s) }
        o["egress_server_id"] = .string(r.egressServerId)
        o["requires_clients"] = .bool(r.requiresClients)
        o["mtls_certificate_id"] = .string(r.mtlsCertificateId)
        o["data_plane_node_id"] = .string(r.dataPlaneNodeId)
        o["overridden_fields"] = .array(isBase ? [] : config.settings.overriddenFields.map(JSONValue.string))
        o["created_at"] = time(config.createdAt)
        o["updated_at"] = time(config.updatedAt)
        return .object(o)
    }
}
