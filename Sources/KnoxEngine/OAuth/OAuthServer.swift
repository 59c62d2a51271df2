import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import Synchronization

/// An OAuth error as RFC 6749 §5.2 shapes it: `{"error", "error_description"}` with its HTTP status.
public struct OAuthError: Error, Sendable, Equatable {
    public let status: Int
    public let error: String
    public let description: String
    /// The methods an endpoint takes, for the `Allow` header of a 405.
    public let allow: String?

    public init(_ status: Int, _ error: String, _ description: String, allow: String? = nil) {
        self.status = status
        self.error = error
        self.description = description
        self.allow = allow
    }

    static func invalidRequest(_ description: String) -> OAuthError { OAuthError(400, "invalid_request", description) }
    static func invalidClient(_ description: String) -> OAuthError { OAuthError(401, "invalid_client", description) }
    static func invalidScope(_ description: String) -> OAuthError { OAuthError(400, "invalid_scope", description) }
}

/// What one call of `/oauth/introspect` says about a token (RFC 7662).
public struct TokenIntrospection: Sendable {
    public let active: Bool
    public let body: JSONObject
}

extension Engine {
    /// Access tokens live one hour (SPEC).
    public static let accessTokenLifetimeMillis: Int64 = 3_600_000
    /// Refresh tokens (single use, rotated) live 30 days.
    public static let refreshTokenLifetimeMillis: Int64 = 30 * 24 * 3_600_000

    /// OAuth client authentication: `client_id` and `client_secret` are an API key split at its last `_` (SPEC), so
    /// the client is the key put back together. Any failure is `invalid_client`, with one message whatever it was —
    /// except a key of the other mode, which says so.
    public func authenticateClient(id: String?, secret: String?) throws(OAuthError) -> ApiKey {
        guard let id, let secret, !id.isEmpty, !secret.isEmpty else {
            throw .invalidClient(
                "Client authentication is required: HTTP Basic (client_id:client_secret) or client_id and client_secret fields"
            )
        }
        let text = id + "_" + secret
        if let claimed = KeyCredential.claimedMode(of: text), claimed != mode {
            throw .invalidClient(
                mode == .live
                    ? "A test key cannot obtain production tokens; use a tk_live_ or AKE key"
                    : "A production key cannot obtain sandbox tokens; use a tk_test_ key")
        }
        let failed = OAuthError.invalidClient("Client authentication failed: the client is unknown, revoked or expired")
        // Only a key is a client: a token split into "client_id" and "client_secret" is not.
        guard OAuthToken.claimedMode(of: text) == nil, let caller = try? authenticate(credential: text),
            caller.token == nil, let key = caller.key
        else { throw failed }
        return key
    }

    /// The permissions a token asks for: all of the key's when `requested` is empty, else exactly the listed ones,
    /// each of which the key must hold (`invalid_scope` otherwise). Scopes are permission strings (`routes:read`).
    public func grantedScope(_ requested: String?, key: ApiKey) throws(OAuthError) -> [String] {
        let own = key.permissions
        let names = (requested ?? "").split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard !names.isEmpty else { return own.grants.map(\.description) }
        var out: [String] = []
        for name in names where !out.contains(name) {
            guard let permission = Permission(name), Engine.isKnownScope(permission) else {
                throw .invalidScope("Unknown scope \"\(name.prefix(64))\": scopes are permissions such as routes:read")
            }
            guard own.allows(permission) else {
                throw .invalidScope(
                    "The client does not hold \(permission); a token can only narrow its key's permissions")
            }
            out.append(name)
        }
        return out
    }

    /// A scope names a permission the product checks (wildcards allowed: `routes:*`, `*:read`, `*:*`).
    static func isKnownScope(_ p: Permission) -> Bool {
        Role.knownPermissions.contains { Permission($0).map { p.covers($0) } ?? false }
    }

    /// Mints an access token for `key` (client credentials). The token row, its audit row and the configuration
    /// version commit together; the local snapshot holds the token before this returns, so it works at once.
    public func issueAccessToken(
        key: ApiKey, scope: [String], grantType: String, jkt: String? = nil, context: RequestContext
    ) async throws -> JSONObject {
        let mode = mode
        let slug = config.tenantSlug
        return try await mintResult(context) { m in
            let pair = try Engine.mint(
                &m, mode: mode, key: key, scope: scope, jkt: jkt, grantType: grantType, family: nil, refresh: false)
            return Engine.tokenResponse(pair, scope: scope, jkt: jkt, tenant: slug)
        }
    }

    /// Runs a mutation whose answer (a token response) must not be kept anywhere: it is passed out of the transaction
    /// in memory only, never stored for idempotent replay.
    func mintResult<T: Sendable>(_ context: RequestContext, _ body: @Sendable @escaping (inout Mutation) throws -> T)
        async throws -> T
    {
        // The stored answer is null: a replay (same idempotency key) gets no token.
        guard let value = try await mutate(context, wire: { _ in .null }, body).value else {
            throw OAuthError(500, "server_error", "The token was not issued")
        }
        return value
    }

    /// Inserts an access token (and a refresh token when asked) for `key` inside a mutation, with its audit row.
    /// Returns the texts; only their hashes are stored.
    static func mint(
        _ m: inout Mutation, mode: Mode, key: ApiKey?, scope: [String], jkt: String?, grantType: String,
        family: String?,
        refresh: Bool, subject: String? = nil, issuer: String? = nil
    ) throws -> (access: String, refresh: String?) {
        let familyId = family ?? Identifier.uuid()
        let accessText = OAuthToken.generateText(.access, mode)
        let access = OAuthToken(
            id: Identifier.uuid(), tokenHash: KeyHasher.sha256Hex(Array(accessText.utf8)), kind: .access,
            apiKeyId: key?.id,
            familyId: familyId, scope: scope, jkt: jkt, grantType: grantType, createdAt: m.now,
            expiresAt: m.now + accessTokenLifetimeMillis, subject: subject, issuer: issuer)
        try m.access.insert(access)
        var refreshText: String?
        if refresh {
            let text = OAuthToken.generateText(.refresh, mode)
            try m.access.insert(
                OAuthToken(
                    id: Identifier.uuid(), tokenHash: KeyHasher.sha256Hex(Array(text.utf8)), kind: .refresh,
                    apiKeyId: key?.id,
                    familyId: familyId, scope: scope, jkt: jkt, grantType: grantType, createdAt: m.now,
                    expiresAt: m.now + refreshTokenLifetimeMillis))
            refreshText = text
        }
        // Housekeeping in the same transaction: rows a day past expiry can no longer matter.
        try m.access.deleteOAuthTokens(expiredBefore: m.now - 24 * 3_600_000)
        var details: JSONObject = [
            "grant_type": .string(grantType), "scope": .string(scope.joined(separator: " ")),
            "api_key_id": .string(key?.id), "dpop_bound": .bool(jkt != nil), "family_id": .string(familyId),
            "refresh_token": .bool(refresh), "expires_at": .string(Timestamp.format(millis: access.expiresAt)),
        ]
        if let subject, let issuer {
            details["subject"] = .string(subject)
            details["issuer"] = .string(issuer)
        }
        try m.audit(
            grantType == "refresh_token" ? "oauth_token.refreshed" : "oauth_token.issued", "oauth_token", access.id,
            details)
        return (accessText, refreshText)
    }

    static func tokenResponse(_ pair: (access: String, refresh: String?), scope: [String], jkt: String?, tenant: String)
        -> JSONObject
    {
        var body = JSONObject()
        body["access_token"] = .string(pair.access)
        body["token_type"] = .string(jkt == nil ? "Bearer" : "DPoP")
        body["expires_in"] = .int(Int(accessTokenLifetimeMillis / 1000))
        if let refresh = pair.refresh { body["refresh_token"] = .string(refresh) }
        body["scope"] = .string(scope.joined(separator: " "))
        body["tenant"] = .string(tenant)
        return body
    }

    /// Checks an access token (`kc_live_…`/`kc_test_…`) against `snapshot`: no SQLite, no lock. A token of the other
    /// mode is `wrong_key_type`; unknown, expired, revoked, or minted by a key that is no longer usable is
    /// `invalid_api_key`, with one message for all.
    public func authenticateToken(_ text: String, snapshot: ConfigSnapshot, nowMillis: Int64) throws(ApiError)
        -> (token: OAuthToken, key: ApiKey?)
    {
        if let claimed = OAuthToken.claimedMode(of: text), claimed != mode {
            throw ApiError(
                .wrongKeyType,
                mode == .live
                    ? "A sandbox token (kc_test_) cannot be used against production"
                    : "A production token (kc_live_) cannot be used against the sandbox")
        }
        let invalid = ApiError(.invalidApiKey, "The access token is invalid, revoked, or expired")
        guard text.hasPrefix(OAuthToken.prefix(.access, mode)),
            let token = snapshot.tokensByHash[KeyHasher.sha256Hex(Array(text.utf8))], token.kind == .access,
            token.isActive(at: nowMillis)
        else { throw invalid }
        // A workload token stands alone; a client's token lives only as long as its key.
        guard let keyId = token.apiKeyId else { return (token, nil) }
        guard let key = snapshot.apiKeysById[keyId], key.isUsable(at: nowMillis) else { throw invalid }
        return (token, key)
    }

    /// RFC 7662. A client may introspect the tokens minted for it; a key with `api_keys:read` any of this mode's.
    /// Anything else, unknown or dead, is `{"active": false}` and nothing more.
    public func introspect(_ text: String, caller: ApiKey) async throws -> TokenIntrospection {
        let inactive = TokenIntrospection(active: false, body: ["active": .bool(false)])
        guard OAuthToken.claimedMode(of: text) == mode else { return inactive }
        let hash = KeyHasher.sha256Hex(Array(text.utf8))
        guard let token = try await query({ try $0.oauthToken(hash: hash) }) else { return inactive }
        let now = clock.nowMillis()
        guard token.apiKeyId == caller.id || caller.permissions.allows("api_keys:read"),
            token.isActive(at: now), token.kind == .access || token.usedAt == nil
        else { return inactive }
        let key = token.apiKeyId.flatMap { snapshot.apiKeysById[$0] }
        if token.apiKeyId != nil && !(key?.isUsable(at: now) ?? false) { return inactive }
        var body = JSONObject()
        body["active"] = .bool(true)
        body["scope"] = .string(token.scope.joined(separator: " "))
        if let key { body["client_id"] = .string(key.keyPrefix) }
        if let issuer = token.issuer { body["subject_issuer"] = .string(issuer) }
        body["token_type"] = .string(token.kind == .refresh ? "refresh_token" : token.jkt == nil ? "Bearer" : "DPoP")
        body["exp"] = .int(Int(token.expiresAt / 1000))
        body["iat"] = .int(Int(token.createdAt / 1000))
        body["sub"] = .string(key?.id ?? token.subject ?? "")
        body["tenant"] = .string(config.tenantSlug)
        body["sandbox"] = .bool(mode.isSandbox)
        if let jkt = token.jkt { body["cnf"] = .object(["jkt": .string(jkt)]) }
        return TokenIntrospection(active: true, body: body)
    }

    /// RFC 7009: revokes a token minted for `caller` (or any of this mode's when the caller holds `api_keys:write`).
    /// Revoking a refresh token revokes its whole family. Unknown tokens, and tokens of other clients, change
    /// nothing and are not distinguished in the answer.
    public func revokeToken(_ text: String, caller: ApiKey, context: RequestContext) async throws {
        guard OAuthToken.claimedMode(of: text) == mode else { return }
        let hash = KeyHasher.sha256Hex(Array(text.utf8))
        guard let token = try await query({ try $0.oauthToken(hash: hash) }), token.revokedAt == nil,
            token.apiKeyId == caller.id || caller.permissions.allows("api_keys:write")
        else { return }
        _ = try await mutate(context, wire: { $0 }) { m -> JSONValue in
            if token.kind == .refresh {
                let count = try m.access.revokeOAuthFamily(token.familyId, at: m.now)
                try m.audit(
                    "oauth_token.family_revoked", "oauth_token", token.id,
                    [
                        "reason": .string("revoked_by_client"), "tokens": .int(count),
                        "api_key_id": .string(token.apiKeyId),
                    ])
            } else {
                try m.access.revokeOAuthToken(id: token.id, at: m.now)
                try m.audit("oauth_token.revoked", "oauth_token", token.id, ["api_key_id": .string(token.apiKeyId)])
            }
            return .null
        }
    }
}

/// What a token transaction decided: tokens, or a refusal that must still commit what it did (revoking a family
/// when a spent code or refresh token comes back).
enum MintOutcome: Sendable {
    case issued(JSONObject)
    case refused(OAuthError)

    func tokens() throws(OAuthError) -> JSONObject {
        switch self {
        case .issued(let body): return body
        case .refused(let error): throw error
        }
    }
}
