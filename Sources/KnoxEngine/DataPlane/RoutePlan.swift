import KnoxCore

/// Everything the data plane needs to serve one route in one environment, computed once per snapshot so that the
/// request path only looks things up.
public final class RoutePlan: Sendable {
    public let route: Route
    public let environment: String
    public let settings: RouteSettings
    public let target: UpstreamURL
    /// `target.hostHeader`, computed once.
    public let hostHeader: String
    /// Upper-case methods allowed; nil for all.
    public let allowedMethods: Set<String>?
    public let ipAllowlist: [IPRange]
    /// Header name → template, in the order configured.
    public let injectHeaders: [(name: String, template: String, hasPlaceholders: Bool)]
    public let injectBody: JSONObject?
    public let requireSignature: Bool
    public let signingSecretId: String?
    public let signatureToleranceSec: Int
    public let limiter: RateLimiter?
    public let timeoutSec: Int
    /// Whether this environment of the route serves traffic.
    public let environmentEnabled: Bool
    /// Enabled clients assigned to this route in this environment, with their address ranges.
    public let assignedClients: [(id: String, range: IPRange)]

    init(route: Route, environment: String, settings s: RouteSettings, target: UpstreamURL, limiter: RateLimiter?,
         assignedClients: [(id: String, range: IPRange)]) {
        self.route = route
        self.environment = environment
        settings = s
        self.target = target
        hostHeader = target.hostHeader
        allowedMethods = s.allowedMethods.map(Set.init)
        ipAllowlist = (s.ipAllowlist ?? []).compactMap { try? IPRange.parse($0).get() }
        injectHeaders = (s.injectHeaders ?? JSONObject()).compactMap { name, value in
            guard let text = value.stringValue else { return nil }
            return (name, text, text.contains("{{"))
        }
        injectBody = (s.injectBody?.isEmpty ?? true) ? nil : s.injectBody
        requireSignature = s.requireSignature ?? false
        signingSecretId = s.signingSecretId
        signatureToleranceSec = s.signatureToleranceSec ?? 300
        self.limiter = limiter
        timeoutSec = s.upstreamTimeoutSec ?? 30
        environmentEnabled = s.enabled ?? true
        self.assignedClients = assignedClients
    }
}

/// The result of looking a route up for a request.
public enum RouteLookup: Sendable {
    case found(RoutePlan)
    case routeNotFound
    case routeDisabled
    case environmentNotConfigured
    case environmentDisabled
}
