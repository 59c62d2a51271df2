import Foundation
import KnoxCore
import KnoxCrypto

/// What `/oauth/authorize` does with a request: show the consent page, or send the browser back to the client.
public enum AuthorizationStep: Sendable, Equatable {
    /// Waiting for the operator: the page shows the request and polls.
    case waiting(OAuthAuthorization, clientName: String)
    /// Back to the client's redirect URI (with `code` and `state`, or an `error`).
    case redirect(String)
}

/// An authorization request that cannot be sent back to the client (unknown client, redirect URI not registered):
/// RFC 6749 §4.1.2.1 says to tell the user instead of redirecting.
public struct AuthorizationPageError: Error, Sendable, Equatable {
    public let message: String
    /// 400, or 429 when the caller's address asked too often.
    public let status: Int
    public let retryAfter: Int?

    public init(message: String, status: Int = 400, retryAfter: Int? = nil) {
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }
}

extension Engine {
    /// Ten minutes for the operator to decide.
    public static let authorizationRequestLifetimeMillis: Int64 = 600_000
    /// Sixty seconds for the client to redeem a code.
    public static let authorizationCodeLifetimeMillis: Int64 = 60_000

    /// The client whose public prefix is `clientId`.
    func oauthClient(_ clientId: String?) -> ApiKey? {
        guard let clientId, !clientId.isEmpty else { return nil }
        let now = clock.nowMillis()
        return snapshot.apiKeysById.values.first { $0.keyPrefix == clientId && $0.isUsable(at: now) }
    }

    /// `GET /oauth/authorize?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method&scope`:
    /// checks the request and records it as pending. Problems with the client or the redirect URI are shown, never
    /// redirected; the others go back to the client as `error=…` (RFC 6749 §4.1.2.1).
    public func beginAuthorization(_ q: [String: String], ipAddress: String?) async throws -> AuthorizationStep {
        // Anyone can call this endpoint, and each call may store a row: sizes, a rate per address and the number
        // waiting are bounded before anything is looked up or written.
        for (name, limit) in Self.authorizationParameterLimits {
            if let value = q[name], value.utf8.count > limit {
                throw AuthorizationPageError(message: "invalid_request: \(name) must be at most \(limit) bytes.")
            }
        }
        let decision = authorizeLimiter.take(ipAddress ?? "-", nowMillis: clock.nowMillis())
        guard decision.allowed else {
            throw AuthorizationPageError(
                message: "Too many authorization requests from this address; try again in \(decision.retryAfter) s.",
                status: 429, retryAfter: decision.retryAfter)
        }
        guard let key = oauthClient(q["client_id"]) else {
            throw AuthorizationPageError(
                message: "Unknown client: client_id must be the public prefix of an active API key of this mode.")
        }
        guard let redirect = q["redirect_uri"], key.redirectUris.contains(redirect) else {
            throw AuthorizationPageError(
                message:
                    "The redirect_uri is not registered for this client (it must match one of its redirect_uris exactly)."
            )
        }
        let state = q["state"]
        func back(_ error: String, _ description: String) -> AuthorizationStep {
            .redirect(Self.appending(redirect, ["error": error, "error_description": description, "state": state]))
        }
        guard q["response_type"] == "code" else {
            return back("unsupported_response_type", "response_type must be code")
        }
        guard let challenge = q["code_challenge"], challenge.utf8.count == 43,
            Base64URL.decode(Substring(challenge)) != nil
        else {
            return back("invalid_request", "PKCE is required: code_challenge (43 base64url characters) with S256")
        }
        guard q["code_challenge_method"] == "S256" else {
            return back("invalid_request", "code_challenge_method must be S256")
        }
        let scope: [String]
        do {
            scope = try grantedScope(q["scope"], key: key)
        } catch {
            return back(error.error, error.description)
        }
        let lifetime = Self.authorizationRequestLifetimeMillis
        let id = Identifier.randomBase62(32)
        let now = clock.nowMillis()
        let record = OAuthAuthorization(
            id: id, apiKeyId: key.id, redirectUri: redirect, state: state, codeChallenge: challenge, scope: scope,
            status: .pending, createdAt: now, expiresAt: now + lifetime)
        let (maxAll, maxClient) = (config.maxPendingAuthorizations, config.maxPendingAuthorizationsPerClient)
        // No audit row for a request nobody decided yet (the decision writes one). The configuration version is
        // bumped so that every console, in any process, shows the request (the rate limit above bounds how often).
        let stored = try await write { access -> Bool in
            try access.deleteUndecidedOAuthAuthorizations(expiredBefore: now)
            try access.deleteOAuthAuthorizations(expiredBefore: now - 24 * 3_600_000)
            let pending = try access.pendingOAuthAuthorizationCounts(apiKeyId: key.id, at: now)
            guard pending.all < maxAll, pending.client < maxClient else { return false }
            try access.insert(record)
            try access.bumpConfigVersion()
            return true
        }
        guard stored else {
            return back(
                "temporarily_unavailable", "Too many authorization requests are waiting for a decision; try again later"
            )
        }
        try await reloadSnapshot()
        return .waiting(record, clientName: key.name)
    }

    /// The parameters `/oauth/authorize` reads, and the most bytes each may have (RFC 6749 leaves sizes to the server;
    /// others are ignored, as §3.1 requires, and never stored).
    static let authorizationParameterLimits: [String: Int] = [
        "response_type": 32, "client_id": 128, "redirect_uri": 2048, "state": 512, "scope": 1024,
        "code_challenge": 128, "code_challenge_method": 16,
    ]

    /// Authorization requests waiting for the operator (the console lists them), with their clients' names.
    public func pendingAuthorizations() async throws -> [PendingAuthorization] {
        let now = clock.nowMillis()
        let rows = try await query { try $0.pendingOAuthAuthorizations(at: now) }
        let keys = snapshot.apiKeysById
        return rows.map {
            PendingAuthorization(
                request: $0, clientName: keys[$0.apiKeyId]?.name ?? "(revoked client)",
                keyPrefix: keys[$0.apiKeyId]?.keyPrefix ?? "")
        }
    }

    /// The operator approves or denies a pending request (needs `api_keys:write`).
    public func decideAuthorization(_ id: String, approve: Bool, _ ctx: RequestContext) async throws
        -> MutationResult<OAuthAuthorization>
    {
        try require("api_keys:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.authorizationDecision) { m in
            guard var record = try m.access.oauthAuthorization(id: id), record.status == .pending,
                record.expiresAt > m.now
            else {
                throw ApiError(
                    .notFound, "No pending authorization request with that id (it may have expired or been decided)")
            }
            record.status = approve ? .approved : .denied
            record.decidedBy = m.context.actor.auditLabel
            try m.access.update(record)
            try m.audit(
                approve ? "oauth_authorization.approved" : "oauth_authorization.denied", "oauth_authorization",
                record.id,
                ["api_key_id": .string(record.apiKeyId), "scope": .string(record.scope.joined(separator: " "))])
            return record
        }
    }

    /// The browser's poll: still waiting, or back to the client — with a fresh code (made now, in the process that
    /// serves this browser, stored only as a hash) once approved, or `access_denied`.
    public func collectAuthorization(_ id: String) async throws -> AuthorizationStep {
        let now = clock.nowMillis()
        guard let record = try await query({ try $0.oauthAuthorization(id: id) }) else {
            throw AuthorizationPageError(message: "No such authorization request.")
        }
        let back = { (params: [String: String?]) in
            AuthorizationStep.redirect(Self.appending(record.redirectUri, params))
        }
        switch record.status {
        case .pending:
            guard record.expiresAt > now else {
                return back([
                    "error": "access_denied", "error_description": "The request expired before it was approved",
                    "state": record.state,
                ])
            }
            return .waiting(record, clientName: snapshot.apiKeysById[record.apiKeyId]?.name ?? "")
        case .denied:
            return back([
                "error": "access_denied", "error_description": "The operator denied the request", "state": record.state,
            ])
        case .codeIssued, .redeemed:
            throw AuthorizationPageError(
                message: "This authorization request is complete; start again from the application.")
        case .approved:
            let code = "kcc_" + Identifier.randomBase62(43)
            let lifetime = Self.authorizationCodeLifetimeMillis
            _ = try await mutate(RequestContext(actor: .console), wire: { $0 }) { m -> JSONValue in
                guard var current = try m.access.oauthAuthorization(id: id), current.status == .approved else {
                    throw AuthorizationPageError(
                        message: "This authorization request is complete; start again from the application.")
                }
                current.status = .codeIssued
                current.codeHash = KeyHasher.sha256Hex(Array(code.utf8))
                current.expiresAt = m.now + lifetime
                try m.access.update(current)
                try m.audit(
                    "oauth_authorization.code_issued", "oauth_authorization", current.id,
                    ["api_key_id": .string(current.apiKeyId)])
                return .null
            }
            return back(["code": code, "state": record.state])
        }
    }

    /// `grant_type=authorization_code`: one redemption per code, with the exact redirect URI and the PKCE verifier.
    /// A code presented again revokes the tokens minted from it (RFC 6749 §4.1.2) and is logged as a security event.
    public func redeemAuthorizationCode(
        code: String, redirectUri: String?, verifier: String?, client: ApiKey, jkt: String?, context: RequestContext
    ) async throws -> JSONObject {
        guard let verifier, (43...128).contains(verifier.utf8.count),
            verifier.utf8.allSatisfy({ Self.isUnreserved($0) })
        else { throw OAuthError(400, "invalid_grant", "code_verifier is required (43-128 unreserved characters)") }
        let hash = KeyHasher.sha256Hex(Array(code.utf8))
        let mode = mode
        let slug = config.tenantSlug
        let outcome: MintOutcome = try await mintResult(context) { m in
            guard var record = try m.access.oauthAuthorization(codeHash: hash), record.apiKeyId == client.id else {
                throw OAuthError(400, "invalid_grant", "The authorization code is invalid")
            }
            if record.status == .redeemed {
                if let family = record.familyId {
                    let count = try m.access.revokeOAuthFamily(family, at: m.now)
                    try m.audit(
                        "oauth_token.family_revoked", "oauth_token", family,
                        [
                            "reason": .string("authorization_code_reuse"), "security_event": .bool(true),
                            "tokens": .int(count),
                            "api_key_id": .string(client.id),
                        ])
                }
                return .refused(
                    OAuthError(
                        400, "invalid_grant",
                        "The authorization code was already used; the tokens minted from it are revoked"))
            }
            guard record.status == .codeIssued, record.expiresAt > m.now else {
                throw OAuthError(400, "invalid_grant", "The authorization code has expired")
            }
            guard redirectUri == record.redirectUri else {
                throw OAuthError(
                    400, "invalid_grant", "redirect_uri does not match the one of the authorization request")
            }
            let computed = Base64URL.encode(KeyHasher.hash(verifier))
            guard KeyHasher.constantTimeEquals(Array(computed.utf8), Array(record.codeChallenge.utf8)) else {
                throw OAuthError(400, "invalid_grant", "code_verifier does not match the code_challenge")
            }
            let family = Identifier.uuid()
            record.status = .redeemed
            record.familyId = family
            try m.access.update(record)
            let pair = try Engine.mint(
                &m, mode: mode, key: client, scope: record.scope, jkt: jkt, grantType: "authorization_code",
                family: family, refresh: true)
            return .issued(Engine.tokenResponse(pair, scope: record.scope, jkt: jkt, tenant: slug))
        }
        return try outcome.tokens()
    }

    /// `grant_type=refresh_token`: single use, rotated in the same family. A refresh token presented twice revokes
    /// its whole family (theft detection) and is logged as a security event. A DPoP-bound family stays bound to its key.
    public func refresh(
        _ text: String, client: ApiKey, scope requested: String?, jkt: String?, context: RequestContext
    ) async throws -> JSONObject {
        let hash = KeyHasher.sha256Hex(Array(text.utf8))
        let mode = mode
        let slug = config.tenantSlug
        let outcome: MintOutcome = try await mintResult(context) { m in
            guard let token = try m.access.oauthToken(hash: hash), token.kind == .refresh, token.apiKeyId == client.id
            else {
                throw OAuthError(400, "invalid_grant", "The refresh token is invalid")
            }
            if token.usedAt != nil {
                let count = try m.access.revokeOAuthFamily(token.familyId, at: m.now)
                try m.audit(
                    "oauth_token.family_revoked", "oauth_token", token.id,
                    [
                        "reason": .string("refresh_token_reuse"), "security_event": .bool(true), "tokens": .int(count),
                        "family_id": .string(token.familyId), "api_key_id": .string(client.id),
                    ])
                return .refused(
                    OAuthError(
                        400, "invalid_grant", "The refresh token was already used; every token of its family is revoked"
                    ))
            }
            guard token.isActive(at: m.now) else {
                throw OAuthError(400, "invalid_grant", "The refresh token has expired or was revoked")
            }
            if let bound = token.jkt, bound != jkt {
                throw OAuthError(
                    400, "invalid_dpop_proof", "This refresh token is DPoP-bound: send a DPoP proof by the same key")
            }
            var scope = token.scope
            let asked = (requested ?? "").split(separator: " ").map(String.init)
            if !asked.isEmpty {
                let held = PermissionSet(token.scope)
                if let extra = asked.first(where: {
                    Permission($0).map { !Engine.isKnownScope($0) || !held.allows($0) } ?? true
                }) {
                    throw OAuthError(400, "invalid_scope", "The refresh token does not cover \(extra.prefix(64))")
                }
                scope = asked
            }
            guard try m.access.spendRefreshToken(id: token.id, at: m.now) else {
                throw OAuthError(400, "invalid_grant", "The refresh token was already used")
            }
            let pair = try Engine.mint(
                &m, mode: mode, key: client, scope: scope, jkt: token.jkt ?? jkt, grantType: "refresh_token",
                family: token.familyId, refresh: true)
            return .issued(Engine.tokenResponse(pair, scope: scope, jkt: token.jkt ?? jkt, tenant: slug))
        }
        return try outcome.tokens()
    }

    static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E
            || c == 0x5F || c == 0x7E
    }

    /// `uri` with `params` added to its query (nil values left out), form-encoded.
    static func appending(_ uri: String, _ params: [String: String?]) -> String {
        let pairs = params.compactMap { k, v in v.map { (k, $0) } }.sorted { $0.0 < $1.0 }
        guard !pairs.isEmpty else { return uri }
        let query = pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        return uri + (uri.contains("?") ? "&" : "?") + query
    }

    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

extension Engine {
    /// A public client (RFC 6749 §2.1) named by `client_id` alone.
    public func publicClient(_ clientId: String?) -> ApiKey? { oauthClient(clientId) }
}
