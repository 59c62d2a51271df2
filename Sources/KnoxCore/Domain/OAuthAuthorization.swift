/// One authorization request of the authorization-code grant (with PKCE S256), from the consent page's first
/// visit to the redemption of its code.
public struct OAuthAuthorization: Sendable, Equatable, Identifiable {
    public enum Status: String, Sendable {
        /// Waiting for the operator (console or consent page).
        case pending
        case approved
        case denied
        /// The code went to the browser that asked; it can be redeemed once.
        case codeIssued = "code_issued"
        case redeemed
    }

    /// Random, 128 bits: the browser's handle on the request (it polls with it).
    public var id: String
    public var apiKeyId: String
    public var redirectUri: String
    public var state: String?
    /// BASE64URL(SHA-256(code_verifier)).
    public var codeChallenge: String
    public var scope: [String]
    public var status: Status
    public var codeHash: String?
    /// The token family minted from the code (so a replayed code can revoke it).
    public var familyId: String?
    public var decidedBy: String?
    public var createdAt: Int64
    /// The request, and then its code, expire (10 minutes to decide; 60 seconds to redeem a code).
    public var expiresAt: Int64

    public init(
        id: String, apiKeyId: String, redirectUri: String, state: String?, codeChallenge: String, scope: [String],
        status: Status, codeHash: String? = nil, familyId: String? = nil, decidedBy: String? = nil, createdAt: Int64,
        expiresAt: Int64
    ) {
        self.id = id
        self.apiKeyId = apiKeyId
        self.redirectUri = redirectUri
        self.state = state
        self.codeChallenge = codeChallenge
        self.scope = scope
        self.status = status
        self.codeHash = codeHash
        self.familyId = familyId
        self.decidedBy = decidedBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
