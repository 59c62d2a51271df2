import KnoxCore
import KnoxCrypto
import KnoxDataPlane

/// A caller whose key was found, matched and is usable.
public struct AuthenticatedCaller: Sendable {
    /// The key, or the key the presented token was minted for; nil for a workload-identity token.
    public let key: ApiKey?
    /// The OAuth access token presented instead of the key, if any: its scope bounds the key's permissions.
    public var token: OAuthToken?

    public init(key: ApiKey?, token: OAuthToken? = nil) {
        self.key = key
        self.token = token
    }

    public var actor: Actor {
        guard let key else {
            return .workload(subject: token?.subject ?? "", permissions: PermissionSet(token?.scope ?? []))
        }
        return .apiKey(
            id: key.id, prefix: key.keyPrefix, permissions: token.map { PermissionSet($0.scope) } ?? key.permissions)
    }

    /// What the management API's per-caller rate limit counts against: the key, else the workload's token family.
    var rateLimitId: String { key?.id ?? "workload:" + (token?.familyId ?? "") }
}

extension Engine {
    /// Checks a presented key against this mode's snapshot (no SQLite).
    ///
    /// No credential: `authentication_required`. A credential of the other mode: `wrong_key_type`. Anything
    /// unknown, revoked, expired or mismatched: `invalid_api_key`, with the same message whichever it was.
    public func authenticate(credential: String?, noteUsage: Bool = true) throws(ApiError) -> AuthenticatedCaller {
        guard let credential, !credential.isEmpty else {
            throw ApiError(
                .authenticationRequired,
                "No API key provided; send Authorization: Bearer <key> or x-api-key: <key>")
        }
        if OAuthToken.claimedMode(of: credential) != nil {
            let now = clock.nowMillis()
            let (token, key) = try authenticateToken(credential, snapshot: snapshot, nowMillis: now)
            if noteUsage, let key { keyUsage.note(keyId: key.id, at: now) }
            return AuthenticatedCaller(key: key, token: token)
        }
        if let claimed = KeyCredential.claimedMode(of: credential), claimed != mode {
            throw ApiError(
                .wrongKeyType,
                mode == .live
                    ? "A test key cannot be used against production; use a tk_live_ or AKE key"
                    : "A production key cannot be used against the sandbox; use a tk_test_ key")
        }
        let invalid = ApiError(.invalidApiKey, "The API key is invalid, revoked, or expired")
        guard let presented = KeyCredential.parse(credential),
            let key = snapshot.apiKeysByKeyId[presented.keyId], key.keyType == presented.kind
        else { throw invalid }
        let matches = KeyHasher.matches(credential, hash: key.keyHash)
        let now = clock.nowMillis()
        guard matches, key.isUsable(at: now) else { throw invalid }
        // The data plane does not note usage here (no lock on its path): the log writer does, from the log rows.
        if noteUsage { keyUsage.note(keyId: key.id, at: now) }
        return AuthenticatedCaller(key: key)
    }

    /// The data plane's key check: the same rules as `authenticate`, against a given snapshot, without noting usage
    /// (the log writer does that) and with the `proxy:invoke` permission read from the snapshot. No lock, no SQLite.
    public func authenticateInvoker(credential: String, snapshot: ConfigSnapshot, nowMillis: Int64) throws(ApiError)
        -> (key: ApiKey, canInvoke: Bool)
    {
        if let claimed = KeyCredential.claimedMode(of: credential), claimed != mode {
            throw ApiError(
                .wrongKeyType,
                mode == .live
                    ? "A test key cannot be used against production"
                    : "A production key cannot be used against the sandbox")
        }
        guard let presented = KeyCredential.parse(credential), let key = snapshot.apiKeysByKeyId[presented.keyId],
            key.keyType == presented.kind, KeyHasher.matches(credential, hash: key.keyHash),
            key.isUsable(at: nowMillis)
        else { throw ApiError(.invalidApiKey, "Unauthorized") }
        return (key, snapshot.invokingKeyIds.contains(key.keyId))
    }

    /// `authenticateInvoker` for a key still in the received bytes, remembering the outcome in `memo` for the same key
    /// and configuration version: a keep-alive connection presents the same key on every request, and hashing it
    /// again each time would change nothing until the configuration does (a revoked or edited key makes a new
    /// version). Expiry is checked every time. The memo is compared with the bytes, and a string of the key is made
    /// only when they do not match; bytes that are not UTF-8 never match (the memo's text is valid UTF-8) and go on
    /// as text with their bad bytes replaced, as a header value read as text is. Returns only what the data plane
    /// uses (the key's id and whether it may invoke), so a remembered key costs no copy of the whole key record.
    public func authenticateInvoker(
        credentialBytes bytes: UnsafeRawBufferPointer, snapshot: ConfigSnapshot, nowMillis: Int64, memo: InvokerMemo?
    ) throws(ApiError) -> InvokerIdentity {
        if let memo, let known = memo.identity, memo.version == snapshot.version,
            KeyHasher.constantTimeEquals(memo.credential, bytes)
        {
            if let expires = memo.expiresAt, nowMillis >= expires { throw ApiError(.invalidApiKey, "Unauthorized") }
            return known
        }
        let credential = String(decoding: bytes, as: UTF8.self)
        let (key, canInvoke) = try authenticateInvoker(credential: credential, snapshot: snapshot, nowMillis: nowMillis)
        let identity = InvokerIdentity(keyId: key.id, canInvoke: canInvoke)
        if let memo {
            memo.credential = credential
            memo.version = snapshot.version
            memo.identity = identity
            // Usable now, so not revoked: a revocation makes a new configuration version, which the memo does not match.
            memo.expiresAt = key.expiresAt
        }
        return identity
    }

    /// Takes one request from the caller's per-key budget.
    public func takeRateLimit(_ caller: AuthenticatedCaller) -> RateLimitDecision {
        let own = caller.key?.rateLimitRequests.flatMap { requests in
            caller.key?.rateLimitWindowSec.map { RateLimitSetting(requests: requests, windowSec: $0) }
        }
        return keyLimiter.take(keyId: caller.rateLimitId, limit: own, nowMillis: clock.nowMillis())
    }

    /// Writes pending `last_used_at` times (called periodically and at shutdown).
    public func flushKeyUsage() async throws {
        let pending = keyUsage.drain()
        guard !pending.isEmpty else { return }
        do {
            try await store.write { access in try access.touchApiKeys(pending) }
        } catch {
            keyUsage.restore(pending)  // kept for the next flush (a busy or full database)
            throw error
        }
    }

    /// Requires `permission` of `actor`, else `forbidden`.
    public func require(_ permission: String, _ actor: Actor) throws(ApiError) {
        guard actor.permissions.allows(permission) else {
            throw ApiError(.forbidden, "This API key lacks the \(permission) permission")
        }
    }
}
