/// An OAuth 2.1 token minted by `/oauth/token`: an access token (`kc_live_…`/`kc_test_…`, one hour) or a refresh
/// token (`kcr_live_…`/`kcr_test_…`, single use, rotated). Only a hash of the text is stored.
public struct OAuthToken: Sendable, Equatable, Identifiable {
    public enum Kind: String, Sendable {
        case access
        case refresh
    }

    public var id: String
    /// Hex SHA-256 of the token text.
    public var tokenHash: String
    public var kind: Kind
    /// The API key (the OAuth client) the token was minted for; its permissions bound the token's. Nil for a
    /// workload-identity token, which has an issuer and a subject instead.
    public var apiKeyId: String?
    /// The workload (`sub` of the exchanged assertion) and its issuer.
    public var subject: String?
    public var issuer: String?
    /// Tokens descending from one grant share a family; reusing a spent refresh token revokes the whole family.
    public var familyId: String
    /// Permission strings the token is limited to (a subset of the key's).
    public var scope: [String]
    /// The RFC 7638 thumbprint of the DPoP key the token is bound to (`cnf.jkt`), if any.
    public var jkt: String?
    /// The grant that minted it (`client_credentials`, `authorization_code`, `refresh_token`, `token_exchange`).
    public var grantType: String
    public var createdAt: Int64
    public var expiresAt: Int64
    /// When a refresh token was spent.
    public var usedAt: Int64?
    public var revokedAt: Int64?

    public init(
        id: String, tokenHash: String, kind: Kind, apiKeyId: String?, familyId: String, scope: [String], jkt: String?,
        grantType: String, createdAt: Int64, expiresAt: Int64, usedAt: Int64? = nil, revokedAt: Int64? = nil,
        subject: String? = nil, issuer: String? = nil
    ) {
        self.id = id
        self.tokenHash = tokenHash
        self.kind = kind
        self.apiKeyId = apiKeyId
        self.familyId = familyId
        self.scope = scope
        self.jkt = jkt
        self.grantType = grantType
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
        self.revokedAt = revokedAt
        self.subject = subject
        self.issuer = issuer
    }

    /// Neither revoked nor expired at `nowMillis` (a refresh token must also be unspent to be redeemed).
    public func isActive(at nowMillis: Int64) -> Bool { revokedAt == nil && nowMillis < expiresAt }

    /// The prefix of a token's text in `mode`.
    public static func prefix(_ kind: Kind, _ mode: Mode) -> String {
        (kind == .access ? "kc_" : "kcr_") + (mode == .live ? "live_" : "test_")
    }

    /// A new random token text of `kind` for `mode`: the prefix and 43 base-62 characters (just over 256 bits).
    public static func generateText(_ kind: Kind, _ mode: Mode) -> String {
        prefix(kind, mode) + Identifier.randomBase62(43)
    }

    /// The mode a token's text claims by its prefix, if it looks like a KnoxCall token at all.
    public static func claimedMode(of text: String) -> Mode? {
        if text.hasPrefix("kc_live_") || text.hasPrefix("kcr_live_") { return .live }
        if text.hasPrefix("kc_test_") || text.hasPrefix("kcr_test_") { return .test }
        return nil
    }
}
