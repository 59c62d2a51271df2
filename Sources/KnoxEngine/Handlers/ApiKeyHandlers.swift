import KnoxCore
import KnoxCrypto
import KnoxStore

extension Engine {
    static let apiKeyCreateFields: Set<String> = [
        "name", "rate_limit_requests", "rate_limit_window_sec", "expires_in_days", "expires_at", "never_expires",
        "role_ids", "key_type", "scopes", "require_dpop", "redirect_uris",
    ]
    static let defaultKeyLifetimeDays = 90

    /// `POST /v1/api-keys` (also `knoxcall keys create`, with the CLI as actor). The key text is in the answer once
    /// and nowhere else: only its hash is stored, and the audit row names only its public prefix.
    public func createApiKey(_ change: Change<ApiKey>, _ ctx: RequestContext) async throws
        -> MutationResult<CreatedApiKey>
    {
        try require("api_keys:write", ctx.actor)
        let mode = mode
        return try await mutate(ctx, status: 201, wire: Wire.apiKey) { m in
            let r = change.body
            let name = try r.requiredString("name", maxLength: 200)
            let kind = try Engine.keyKind(r, mode: mode)
            let (requests, window) = (
                try r.int("rate_limit_requests", in: 1...10_000_000).value,
                try r.int("rate_limit_window_sec", in: 1...86_400).value
            )
            guard r.has("rate_limit_requests") == r.has("rate_limit_window_sec"), (requests == nil) == (window == nil)
            else {
                throw ApiError.refused(
                    requests == nil ? "rate_limit_requests" : "rate_limit_window_sec",
                    "rate_limit_requests and rate_limit_window_sec go together", .fieldCombination)
            }
            let expiresAt = try Engine.keyExpiry(r, kind: kind, now: m.now)
            let roles = try Engine.keyRoles(r)
            var scopes: [String]?
            if kind == .accessKey {
                guard roles.isEmpty else {
                    throw ApiError.refused(
                        "role_ids", "access keys (AKE) carry scopes instead of roles", .fieldCombination)
                }
                scopes = try Engine.keyScopes(r)
            } else if r.has("scopes") {
                throw ApiError.refused(
                    "scopes", "only access keys (key_type access_key) carry scopes; use role_ids", .fieldCombination)
            }
            let requested = scopes.map { PermissionSet($0).grants } ?? roles.flatMap(\.grants)
            if let missing = m.context.actor.permissions.firstUncovered(requested) {
                throw ApiError(
                    .privilegeEscalation,
                    "A key cannot create a key with more privileges than its own: it lacks \(missing)")
            }
            try m.checkLimit(.apiKeys, m.limits.apiKeys, "API key")
            let credential = KeyCredential.generate(kind)
            let key = ApiKey(
                id: Identifier.uuid(), keyId: credential.keyId, keyPrefix: credential.publicPrefix, keyType: kind,
                name: name, keyHash: KeyHasher.hash(credential.text), createdAt: m.now, expiresAt: expiresAt,
                rateLimitRequests: requests, rateLimitWindowSec: window, roleIds: roles.map(\.id), scopes: scopes,
                createdBy: m.context.actor.auditLabel, requireDpop: try r.bool("require_dpop").value ?? false,
                redirectUris: try Engine.redirectURIs(r))
            try m.access.insert(key)
            try m.audit(
                "api_key.created", "api_key", key.id,
                [
                    "name": .string(name), "key_prefix": .string(key.keyPrefix), "key_type": .string(kind.rawValue),
                    "role_ids": .array(key.roleIds.map(JSONValue.string)),
                ])
            return CreatedApiKey(key: key, text: credential.text)
        }
    }

    /// `DELETE /v1/api-keys/:id`: the key stops working at once (the snapshot is swapped before the answer).
    public func revokeApiKey(_ id: String, _ ctx: RequestContext) async throws -> MutationResult<Removal> {
        try require("api_keys:write", ctx.actor)
        return try await mutate(ctx, wire: Wire.removal) { m in
            guard let key = try m.access.apiKey(idOrKeyId: id) else { throw ApiError.notFound("API key") }
            try m.access.revokeApiKey(id: key.id, at: m.now)
            try m.access.revokeOAuthTokens(apiKeyId: key.id, at: m.now)
            try m.audit(
                "api_key.revoked", "api_key", key.id,
                [
                    "name": .string(key.name), "key_prefix": .string(key.keyPrefix),
                    "already_revoked": .bool(!key.active),
                ])
            return .revoked
        }
    }

    /// The query of `GET /v1/api-keys`.
    public static let apiKeyQuery = QueryDescriptor.page(sort: ApiKey.sortKeys, default: "created_at", .desc)

    /// `GET /v1/api-keys`: the keys' records (their hashes are never shown; `Wire.apiKey` masks them).
    public func apiKeys(_ q: QueryRequest, actor: Actor) async throws -> Page<ApiKey> {
        try require("api_keys:read", actor)
        let request = q.page
        // Fresh last_used_at times where the database takes them; a listing never fails for it (they are kept).
        try? await flushKeyUsage()
        return try await self.query { try $0.apiKeys(request) }
    }

    /// `GET /v1/api-keys/:id` (by id or key id).
    public func apiKey(_ id: String, actor: Actor) async throws -> ApiKey {
        try require("api_keys:read", actor)
        guard let key = try await query({ try $0.apiKey(idOrKeyId: id) }) else { throw ApiError.notFound("API key") }
        return key
    }

    /// The query of `GET /v1/roles`.
    public static let roleQuery = QueryDescriptor.page(
        sort: ["name"], default: "name", .asc,
        filters: [QueryParameter("subject_kind", .oneOf(["api_key", "user"]), "Audience")])

    /// `GET /v1/roles` (any valid key): the seeded key roles.
    public func roles(_ q: QueryRequest) -> Page<Role> {
        let (request, kind) = (q.page, q.text("subject_kind"))
        var roles = kind == "user" ? [] : Role.seeded
        roles.sort { request.order == .asc ? $0.name < $1.name : $0.name > $1.name }
        let slice = roles.dropFirst(request.offset).prefix(request.perPage)
        return Page(items: Array(slice), total: roles.count, request: request)
    }

    // MARK: - Helpers

    static func keyKind(_ r: FieldReader, mode: Mode) throws(ApiError) -> ApiKey.Kind {
        guard let raw = try r.string("key_type").value else { return mode == .live ? .standard : .test }
        guard let kind = ApiKey.Kind(rawValue: raw) else {
            throw ApiError.invalid("key_type", "must be standard, access_key or test (got \"\(raw.prefix(32))\")")
        }
        guard kind.mode == mode else {
            throw ApiError.refused(
                "key_type",
                mode == .live
                    ? "test keys are made on the sandbox API" : "only test keys can be made on the sandbox API",
                .otherMode)
        }
        return kind
    }

    /// At most one of `expires_in_days`, `expires_at`, `never_expires`; none means 90 days.
    static func keyExpiry(_ r: FieldReader, kind: ApiKey.Kind, now: Int64) throws(ApiError) -> Int64? {
        let given = ["expires_in_days", "expires_at", "never_expires"].filter { r.has($0) }
        guard given.count <= 1 else {
            throw ApiError(
                .conflictingExpiryFields, "Send at most one of expires_in_days, expires_at and never_expires",
                field: given.joined(separator: ","), reason: .fieldCombination)
        }
        let maxMillis = now + 365 * 86_400_000
        switch given.first {
        case "expires_in_days":
            guard case .number(let n)? = r.object["expires_in_days"],
                let days = n.intValue ?? n.doubleValue.flatMap({ $0 == $0.rounded() && abs($0) < 1e6 ? Int($0) : nil }),
                (1...365).contains(days)
            else {
                throw ApiError(
                    .invalidExpiry, "expires_in_days must be a whole number from 1 to 365", field: "expires_in_days")
            }
            return now + Int64(days) * 86_400_000
        case "expires_at":
            guard let text = r.object["expires_at"]?.stringValue, let at = Timestamp.parse(text) else {
                throw ApiError(.invalidExpiry, "expires_at must be an RFC 3339 time", field: "expires_at")
            }
            guard at > now, at <= maxMillis else {
                throw ApiError(
                    .invalidExpiry, "expires_at must be in the future and at most 365 days away", field: "expires_at",
                    reason: .timeWindow)
            }
            return at
        case "never_expires":
            guard r.object["never_expires"] == .bool(true) else {
                throw ApiError(
                    .invalidExpiry, "never_expires can only be true; leave it out for the 90-day default",
                    field: "never_expires")
            }
            guard kind != .accessKey else {
                throw ApiError(
                    .invalidExpiry, "access keys (AKE) always expire", field: "never_expires", reason: .fieldCombination
                )
            }
            return nil
        default:
            return now + Int64(defaultKeyLifetimeDays) * 86_400_000
        }
    }

    static func keyRoles(_ r: FieldReader) throws(ApiError) -> [Role] {
        guard let ids = try r.stringArray("role_ids", maxCount: 10).value else { return [] }
        var roles: [Role] = []
        for (i, id) in ids.enumerated() {
            guard let role = Role.seeded(matching: id) else {
                throw ApiError(
                    .forbidden, "role_ids[\(i)]: only the seeded key roles are accepted (see GET /v1/roles)",
                    field: "role_ids[\(i)]")
            }
            if !roles.contains(role) { roles.append(role) }
        }
        return roles
    }

    /// OAuth redirect URIs: absolute, without fragment; `https`, or `http` only to a loopback host (RFC 8252 §7.3).
    static func redirectURIs(_ r: FieldReader) throws(ApiError) -> [String] {
        guard let uris = try r.stringArray("redirect_uris", maxCount: 10).value else { return [] }
        for (i, uri) in uris.enumerated() {
            let field = "redirect_uris[\(i)]"
            guard uri.utf8.count <= 2000, !uri.contains("#"), !uri.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F })
            else {
                throw ApiError.invalid(field, "must be an absolute URI without fragment or spaces")
            }
            guard let parsed = try? UpstreamURL.parse(uri).get() else {
                throw ApiError.invalid(field, "must be an absolute http(s) URI")
            }
            guard parsed.isTLS || parsed.isLoopback else {
                throw ApiError.invalid(
                    field, "must use https, or http to a loopback address (127.0.0.1, [::1], localhost)")
            }
        }
        return uris
    }

    static func keyScopes(_ r: FieldReader) throws(ApiError) -> [String] {
        guard let scopes = try r.stringArray("scopes", maxCount: 50).value, !scopes.isEmpty else {
            throw ApiError.refused(
                "scopes", "access keys need at least one scope, e.g. [\"routes:read\"]", .fieldCombination)
        }
        for (i, scope) in scopes.enumerated() {
            guard let p = Permission(scope), Engine.isKnownScope(p) else {
                throw ApiError.invalid(
                    "scopes[\(i)]",
                    "\"\(scope.prefix(64))\" is not a permission; known: \(Role.knownPermissions.joined(separator: ", "))"
                )
            }
        }
        return scopes
    }
}
