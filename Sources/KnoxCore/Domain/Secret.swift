/// An encrypted credential that routes inject. Its value is never part of this type.
public struct Secret: Sendable, Equatable, Identifiable {
    public enum Kind: String, Sendable, CaseIterable {
        case string
        case oauth2
        case certificate
    }

    public var id: String
    /// Normalized (`STRIPE_API_KEY`); also its shortcode name.
    public var name: String
    public var secretType: Kind
    public var baseEnvironment: String
    public var description: String?
    public var collectionId: String?
    public var expiresAt: Int64?
    public var strictExpiryEnforcement: Bool
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String, name: String, secretType: Kind = .string, baseEnvironment: String, description: String? = nil,
        collectionId: String? = nil, expiresAt: Int64? = nil, strictExpiryEnforcement: Bool = false, createdAt: Int64,
        updatedAt: Int64
    ) {
        self.id = id
        self.name = name
        self.secretType = secretType
        self.baseEnvironment = baseEnvironment
        self.description = description
        self.collectionId = collectionId
        self.expiresAt = expiresAt
        self.strictExpiryEnforcement = strictExpiryEnforcement
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One environment's sealed value of a secret: AES-256-GCM ciphertext, never plaintext.
public struct SealedSecretValue: Sendable, Equatable {
    public var secretId: String
    public var environmentName: String
    /// nonce ‖ ciphertext ‖ tag, sealed with the tenant, secret id and environment as associated data.
    public var ciphertext: [UInt8]
    /// Counts value writes for this environment, starting at 1.
    public var valueVersion: Int
    public var updatedAt: Int64

    public init(secretId: String, environmentName: String, ciphertext: [UInt8], valueVersion: Int, updatedAt: Int64) {
        self.secretId = secretId
        self.environmentName = environmentName
        self.ciphertext = ciphertext
        self.valueVersion = valueVersion
        self.updatedAt = updatedAt
    }
}

/// A plaintext secret value that cannot be printed, logged or interpolated by accident.
///
/// `description` and `debugDescription` are `‹redacted›`; only `reveal()` gives the text, and only the
/// code that seals or injects calls it.
public struct SecretValue: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let text: String

    public init(_ text: String) { self.text = text }

    /// The plaintext. Call only to seal it or to inject it.
    public func reveal() -> String { text }

    public var description: String { "‹redacted›" }
    public var debugDescription: String { "‹redacted›" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
