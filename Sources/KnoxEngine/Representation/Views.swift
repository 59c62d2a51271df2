import KnoxCore
import KnoxStore

/// What the read handlers answer: typed values, which the API edge turns into wire JSON (`Wire`) and the console
/// renders as they are. A renamed property fails to compile in both, where a renamed JSON key would render blank.

/// A secret as listed: its metadata and how many environments hold a value.
public struct SecretSummary: Sendable, Equatable {
    public let secret: Secret
    public let environmentCount: Int

    public init(secret: Secret, environmentCount: Int) {
        self.secret = secret
        self.environmentCount = environmentCount
    }
}

/// One environment's value of a secret: its version and time, never the value (sealed or not).
public struct SecretValueVersion: Sendable, Equatable {
    public let environmentName: String
    public let valueVersion: Int
    public let updatedAt: Int64

    public init(_ sealed: SealedSecretValue) {
        environmentName = sealed.environmentName
        valueVersion = sealed.valueVersion
        updatedAt = sealed.updatedAt
    }
}

/// A secret with its per-environment versions and the routes that use it (`GET /v1/secrets/:id`).
public struct SecretDetail: Sendable, Equatable {
    public let secret: Secret
    public let versions: [SecretValueVersion]
    public let uses: [SecretUse]
}

/// A client with its route assignments (`GET /v1/clients/:id`).
public struct ClientDetail: Sendable, Equatable {
    public let client: Client
    public let assignments: [AssignmentDetail]
}

/// An OAuth authorization request waiting for the operator, with the name of the key that asked.
public struct PendingAuthorization: Sendable, Equatable {
    public let request: OAuthAuthorization
    public let clientName: String
    /// The prefix of the key that asked (empty when it was revoked since).
    public let keyPrefix: String
}

// MARK: - What the mutations answer

/// One environment's configuration of a route, with the route it belongs to (what `PUT
/// /v1/routes/:id/environments/:env` answers).
public struct RouteEnvironmentDetail: Sendable, Equatable {
    public let config: RouteEnvironmentConfig
    public let route: RouteView
}

/// A secret's value just stored: which secret, in which environment, and its new version (never the value).
public struct StoredSecretValue: Sendable, Equatable {
    public let secretId: String
    public let secretName: String
    public let environment: String
    public let valueVersion: Int
}

/// A key just made, with the one showing of its text. Its descriptions leave the text out, so a log line or a test's
/// failure message that prints the value cannot show the key.
public struct CreatedApiKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let key: ApiKey
    /// The key itself (`tk_…`): shown once, stored only as a hash.
    public let text: String

    public var description: String { "CreatedApiKey(\(key.name), \(key.keyPrefix)_…)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["key": key]) }
}
