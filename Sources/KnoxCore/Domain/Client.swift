/// A machine or user allowed to call routes that require clients, identified by source address.
public struct Client: Sendable, Equatable, Identifiable {
    public enum Kind: String, Sendable, CaseIterable {
        case user
        case server
    }

    public var id: String
    public var name: String
    public var type: Kind
    /// A canonical address or CIDR range (`203.0.113.0/24`, `2001:db8::/32`).
    public var ipAddress: String
    public var ipNotes: JSONObject
    public var description: String?
    public var enabled: Bool
    public var collectionId: String?
    public var createdBy: String?
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String, name: String, type: Kind, ipAddress: String, ipNotes: JSONObject = JSONObject(),
        description: String? = nil, enabled: Bool = true, collectionId: String? = nil, createdBy: String? = nil,
        createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.ipAddress = ipAddress
        self.ipNotes = ipNotes
        self.description = description
        self.enabled = enabled
        self.collectionId = collectionId
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A client allowed on a route in one environment.
public struct ClientAssignment: Sendable, Equatable, Hashable {
    public var routeId: String
    public var clientId: String
    public var environmentName: String
    public var createdAt: Int64

    public init(routeId: String, clientId: String, environmentName: String, createdAt: Int64) {
        self.routeId = routeId
        self.clientId = clientId
        self.environmentName = environmentName
        self.createdAt = createdAt
    }
}
