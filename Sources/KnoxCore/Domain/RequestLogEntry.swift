/// One request seen by the data plane, allowed or refused. Holds no secret value or credential.
public struct RequestLogEntry: Sendable, Equatable {
    /// Row sequence (the wire `id`, a decimal string); 0 before the row is written.
    public var seq: Int64
    public var requestId: String
    public var routeId: String?
    public var ts: Int64
    public var srcIp: String?
    public var method: String
    public var path: String
    public var statusCode: Int?
    /// Total time in KnoxCall, milliseconds.
    public var latencyMs: Int?
    /// Time waiting on the upstream, milliseconds.
    public var upstreamLatencyMs: Int?
    public var upstreamHost: String?
    public var upstreamStatus: Int?
    /// The error type when KnoxCall refused or failed the request.
    public var error: String?
    public var environment: String?
    public var rateLimited: Bool
    public var signatureValid: Bool?
    public var matchedClientId: String?
    /// `api_key`, `oauth_token`, `client_ip`, or nil when the caller was not identified.
    public var identificationMethod: String?
    public var apiKeyId: String?
    public var proxyMode: String
    public var clientOrigin: String
    /// The caller's request headers as `Name: value` lines, credentials replaced by `‹redacted›` (for the console's
    /// request view). Never holds an injected header.
    public var requestHeaders: String?

    public init(
        seq: Int64 = 0, requestId: String, routeId: String? = nil, ts: Int64, srcIp: String? = nil, method: String,
        path: String, statusCode: Int? = nil, latencyMs: Int? = nil, upstreamLatencyMs: Int? = nil,
        upstreamHost: String? = nil, upstreamStatus: Int? = nil, error: String? = nil, environment: String? = nil,
        rateLimited: Bool = false, signatureValid: Bool? = nil, matchedClientId: String? = nil,
        identificationMethod: String? = nil, apiKeyId: String? = nil, proxyMode: String = "route",
        clientOrigin: String = "direct", requestHeaders: String? = nil
    ) {
        self.seq = seq
        self.requestId = requestId
        self.routeId = routeId
        self.ts = ts
        self.srcIp = srcIp
        self.method = method
        self.path = path
        self.statusCode = statusCode
        self.latencyMs = latencyMs
        self.upstreamLatencyMs = upstreamLatencyMs
        self.upstreamHost = upstreamHost
        self.upstreamStatus = upstreamStatus
        self.error = error
        self.environment = environment
        self.rateLimited = rateLimited
        self.signatureValid = signatureValid
        self.matchedClientId = matchedClientId
        self.identificationMethod = identificationMethod
        self.apiKeyId = apiKeyId
        self.proxyMode = proxyMode
        self.clientOrigin = clientOrigin
        self.requestHeaders = requestHeaders
    }
}
