/// One row of the audit log: who changed what, when. Never holds a secret value, key or token.
public struct AuditEntry: Sendable, Equatable, Identifiable {
    public var id: String
    /// Monotonic sequence, for the keyset feed.
    public var seq: Int64
    /// Dotted: `route.created`, `secret.value_updated`, …
    public var action: String
    /// `route`, `secret`, `client`, `environment`, `api_key`, `route_client`.
    public var resourceType: String
    public var resourceId: String?
    public var details: JSONObject
    public var ipAddress: String?
    /// `api_key:<id>`, `console` or `cli`.
    public var actor: String
    public var apiKeyId: String?
    public var createdAt: Int64

    public init(
        id: String, seq: Int64 = 0, action: String, resourceType: String, resourceId: String?, details: JSONObject,
        ipAddress: String?, actor: String, apiKeyId: String?, createdAt: Int64
    ) {
        self.id = id
        self.seq = seq
        self.action = action
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.details = details
        self.ipAddress = ipAddress
        self.actor = actor
        self.apiKeyId = apiKeyId
        self.createdAt = createdAt
    }
}
