/// A route: a named upstream that the data plane proxies to, with per-environment settings.
///
/// Identity and switches live here; everything that can differ per environment lives in
/// `RouteSettings`, one row per configured environment (the base environment's row included).
public struct Route: Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    /// `[a-z0-9-]{1,63}`, unique, never changed after creation.
    public var slug: String
    public var enabled: Bool
    public var requiresClients: Bool
    public var baseEnvironment: String
    public var collectionId: String?
    public var mtlsCertificateId: String?
    public var egressServerId: String?
    public var dataPlaneNodeId: String?
    public var interceptEnabled: Bool
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String, name: String, slug: String, enabled: Bool = true, requiresClients: Bool = false,
        baseEnvironment: String, collectionId: String? = nil, mtlsCertificateId: String? = nil,
        egressServerId: String? = nil, dataPlaneNodeId: String? = nil, interceptEnabled: Bool = false,
        createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.name = name
        self.slug = slug
        self.enabled = enabled
        self.requiresClients = requiresClients
        self.baseEnvironment = baseEnvironment
        self.collectionId = collectionId
        self.mtlsCertificateId = mtlsCertificateId
        self.egressServerId = egressServerId
        self.dataPlaneNodeId = dataPlaneNodeId
        self.interceptEnabled = interceptEnabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The settings of a route that can differ per environment. Each one is described once, in `RouteSettings.fields`.
///
/// On the base environment's row every field has a value. On an override row a nil field inherits the
/// base value ("a null or empty override inherits the base value").
public struct RouteSettings: Sendable, Equatable {
    public var targetBaseURL: String?
    /// Header name → template string, e.g. `"Authorization": "Bearer {{secret:STRIPE_KEY}}"`.
    public var injectHeaders: JSONObject?
    /// Fields merged into a JSON request body; string values may hold templates.
    public var injectBody: JSONObject?
    /// Addresses and CIDR ranges allowed to call; empty means no restriction.
    public var ipAllowlist: [String]?
    public var requireSignature: Bool?
    public var signatureToleranceSec: Int?
    /// The string secret whose value keys request signatures.
    public var signingSecretId: String?
    public var rateLimitEnabled: Bool?
    public var rateLimitRequests: Int?
    public var rateLimitWindowSec: Int?
    public var rateLimitBurst: Int?
    /// Upper-case HTTP methods; nil means every method.
    public var allowedMethods: [String]?
    public var httpMethodRestrictionsEnabled: Bool?
    /// Per-method overrides: an array of objects, each with `method` and settings fields.
    public var methodConfigs: [JSONObject]?
    public var useMethodSpecificConfigs: Bool?
    /// Structure of a sample request body, values replaced by type placeholders.
    public var payloadStructure: JSONObject?
    /// Upstream timeout in seconds (default 30).
    public var upstreamTimeoutSec: Int?
    /// Whether this environment of the route serves traffic.
    public var enabled: Bool?
    public var interceptEnabled: Bool?
    /// Secrets the caller's own body may refer to (`{{secret:NAME}}`, `{{secret_id:UUID}}`): normalized names and
    /// lowercase ids, as configured. Empty: none (every reference in a caller's body is refused).
    public var callableSecrets: [String]?
    /// Whether a caller's path may hold encoded slashes (`%2F`, `%5C`); dot segments are refused regardless.
    public var allowEncodedSlashes: Bool?

    public init() {}

    // The defaults, the overlay of an override and the list of overridden fields come from `RouteSettings.fields`
    // (Descriptors/RouteSettings+Fields.swift), which describes each setting once.

    /// Every template string in these settings with a dotted path naming where it sits,
    /// e.g. `inject_headers_json.Authorization`.
    public func templateStrings() -> [(path: String, text: String)] {
        var out: [(String, String)] = []
        for (name, value) in injectHeaders ?? JSONObject() {
            if let s = value.stringValue { out.append(("inject_headers_json.\(name)", s)) }
        }
        func walk(_ value: JSONValue, _ path: String) {
            switch value {
            case .string(let s): out.append((path, s))
            case .array(let items): for (i, item) in items.enumerated() { walk(item, "\(path)[\(i)]") }
            case .object(let o): for (k, v) in o { walk(v, "\(path).\(k)") }
            default: break
            }
        }
        if let body = injectBody { walk(.object(body), "inject_body_json") }
        for (i, config) in (methodConfigs ?? []).enumerated() {
            walk(.object(config), "method_configs[\(i)]")
        }
        return out
    }
}

/// One environment's settings row for a route.
public struct RouteEnvironmentConfig: Sendable, Equatable, Identifiable {
    public var id: String
    public var routeId: String
    public var environmentName: String
    public var settings: RouteSettings
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String, routeId: String, environmentName: String, settings: RouteSettings, createdAt: Int64,
        updatedAt: Int64
    ) {
        self.id = id
        self.routeId = routeId
        self.environmentName = environmentName
        self.settings = settings
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
