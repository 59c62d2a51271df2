import KnoxCore

/// A route with everything needed to render it.
public struct RouteView: Sendable {
    public let route: Route
    public let configs: [RouteEnvironmentConfig]

    public init(route: Route, configs: [RouteEnvironmentConfig]) {
        self.route = route
        self.configs = configs
    }

    /// The base environment's settings (defaults when its row is missing).
    public var baseSettings: RouteSettings {
        configs.first { $0.environmentName == route.baseEnvironment }?.settings ?? RouteSettings.baseDefaults
    }

    public var overrides: [RouteEnvironmentConfig] { configs.filter { $0.environmentName != route.baseEnvironment } }
}

extension Wire {
    /// The route object: the union of the list row, `GET /v1/routes/:id` and the full row POST and PATCH return.
    public static func route(_ view: RouteView, tenantId: String, mode: Mode) -> JSONValue {
        let r = view.route
        let s = view.baseSettings
        var o = JSONObject()
        o["id"] = .string(r.id)
        o["tenant_id"] = .string(tenantId)
        o["name"] = .string(r.name)
        o["slug"] = .string(r.slug)
        o["sandbox"] = .bool(mode.isSandbox)
        o["target_base_url"] = .string(s.targetBaseURL)
        o["base_environment"] = .string(r.baseEnvironment)
        o["enabled"] = .bool(r.enabled)
        o["requires_clients"] = .bool(r.requiresClients)
        o["methods"] = strings(s.allowedMethods)
        o["allowed_methods"] = strings(s.allowedMethods)
        // allowed_methods is enforced whenever set: the flag says exactly that (it is never stored on its own).
        o["http_method_restrictions_enabled"] = .bool(s.allowedMethods != nil)
        o["inject_headers_json"] = .object(s.injectHeaders ?? JSONObject())
        o["inject_body_json"] = .object(s.injectBody ?? JSONObject())
        o["callable_secrets"] = strings(s.callableSecrets ?? [])
        o["allow_encoded_slashes"] = .bool(s.allowEncodedSlashes ?? false)
        o["injection_rules"] = .array([])
        o["ip_allowlist"] = strings(s.ipAllowlist ?? [])
        o["method_configs"] = objects(s.methodConfigs)
        o["use_method_specific_configs"] = .bool(s.useMethodSpecificConfigs ?? false)
        o["payload_structure"] = object(s.payloadStructure)
        o["require_signature"] = .bool(s.requireSignature ?? false)
        o["signature_tolerance_sec"] = .int(s.signatureToleranceSec ?? 300)
        o["signing_secret_id"] = .string(s.signingSecretId)
        o["rate_limit_enabled"] = .bool(s.rateLimitEnabled ?? false)
        o["rate_limit_requests"] = .int(s.rateLimitRequests)
        o["rate_limit_window_sec"] = .int(s.rateLimitWindowSec)
        o["rate_limit_burst"] = .int(s.rateLimitBurst)
        o["upstream_timeout_sec"] = .int(s.upstreamTimeoutSec ?? 30)
        o["mtls_certificate_id"] = .string(r.mtlsCertificateId)
        o["egress_server_id"] = .string(r.egressServerId)
        o["data_plane_node_id"] = .string(r.dataPlaneNodeId)
        o["collection_id"] = .string(r.collectionId)
        o["intercept_enabled"] = .bool(r.interceptEnabled)
        o["favicon_url"] = .null
        o["favicon_updated_at"] = .null
        o["favicon_data"] = .null
        o["environment_override_count"] = .int(view.overrides.count)
        o["configured_environments"] = .array(
            ([r.baseEnvironment] + view.overrides.map(\.environmentName)).map(JSONValue.string))
        o["created_at"] = time(r.createdAt)
        o["updated_at"] = time(r.updatedAt)
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
        o["target_base_url"] = .string(s.targetBaseURL)
        o["inject_headers_json"] = .object(s.injectHeaders ?? JSONObject())
        o["inject_body_json"] = .object(s.injectBody ?? JSONObject())
        o["require_signature"] = .bool(s.requireSignature ?? false)
        o["signature_tolerance_sec"] = .int(s.signatureToleranceSec ?? 300)
        o["signing_secret_id"] = .string(s.signingSecretId)
        o["rate_limit_enabled"] = .bool(s.rateLimitEnabled ?? false)
        o["rate_limit_requests"] = .int(s.rateLimitRequests)
        o["rate_limit_window_sec"] = .int(s.rateLimitWindowSec)
        o["rate_limit_burst"] = .int(s.rateLimitBurst)
        o["allowed_methods"] = strings(s.allowedMethods)
        o["method_configs"] = objects(s.methodConfigs)
        o["use_method_specific_configs"] = .bool(s.useMethodSpecificConfigs ?? false)
        o["http_method_restrictions_enabled"] = .bool(s.allowedMethods != nil)
        o["callable_secrets"] = strings(s.callableSecrets ?? [])
        o["allow_encoded_slashes"] = .bool(s.allowEncodedSlashes ?? false)
        o["egress_server_id"] = .string(r.egressServerId)
        o["enabled"] = .bool(s.enabled ?? true)
        o["requires_clients"] = .bool(r.requiresClients)
        o["mtls_certificate_id"] = .string(r.mtlsCertificateId)
        o["payload_structure"] = object(s.payloadStructure)
        o["injection_rules"] = .array([])
        o["ip_allowlist"] = strings(s.ipAllowlist ?? [])
        o["data_plane_node_id"] = .string(r.dataPlaneNodeId)
        o["intercept_enabled"] = .bool(s.interceptEnabled ?? false)
        o["upstream_timeout_sec"] = .int(s.upstreamTimeoutSec ?? 30)
        o["overridden_fields"] = .array(isBase ? [] : overriddenFields(config.settings).map(JSONValue.string))
        o["created_at"] = time(config.createdAt)
        o["updated_at"] = time(config.updatedAt)
        return .object(o)
    }

    /// Wire names of the fields an override row sets (the others inherit the base environment's values).
    static func overriddenFields(_ s: RouteSettings) -> [String] {
        var out: [String] = []
        if let v = s.targetBaseURL, !v.isEmpty { out.append("target_base_url") }
        if let v = s.injectHeaders, !v.isEmpty { out.append("inject_headers_json") }
        if let v = s.injectBody, !v.isEmpty { out.append("inject_body_json") }
        if let v = s.ipAllowlist, !v.isEmpty { out.append("ip_allowlist") }
        if s.requireSignature != nil { out.append("require_signature") }
        if s.signatureToleranceSec != nil { out.append("signature_tolerance_sec") }
        if s.signingSecretId != nil { out.append("signing_secret_id") }
        if s.rateLimitEnabled != nil { out.append("rate_limit_enabled") }
        if s.rateLimitRequests != nil { out.append("rate_limit_requests") }
        if s.rateLimitWindowSec != nil { out.append("rate_limit_window_sec") }
        if s.rateLimitBurst != nil { out.append("rate_limit_burst") }
        if let v = s.allowedMethods, !v.isEmpty { out.append("allowed_methods") }
        if let v = s.methodConfigs, !v.isEmpty { out.append("method_configs") }
        if s.useMethodSpecificConfigs != nil { out.append("use_method_specific_configs") }
        if let v = s.payloadStructure, !v.isEmpty { out.append("payload_structure") }
        if s.upstreamTimeoutSec != nil { out.append("upstream_timeout_sec") }
        if s.enabled != nil { out.append("enabled") }
        if s.interceptEnabled != nil { out.append("intercept_enabled") }
        if let v = s.callableSecrets, !v.isEmpty { out.append("callable_secrets") }
        if s.allowEncodedSlashes != nil { out.append("allow_encoded_slashes") }
        return out
    }
}
