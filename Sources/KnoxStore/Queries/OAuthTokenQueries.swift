import GRDB
import KnoxCore

extension StoreAccess {
    public func insert(_ token: OAuthToken) throws { try token.insert(db) }

    public func oauthToken(hash: String) throws -> OAuthToken? {
        try OAuthToken.filter(Column("token_hash") == hash).fetchOne(db)
    }

    /// Access tokens that are neither revoked nor expired at `nowMillis` (the snapshot holds these).
    public func liveAccessTokens(at nowMillis: Int64) throws -> [OAuthToken] {
        try OAuthToken.fetchAll(
            db, sql: "SELECT * FROM oauth_tokens WHERE kind = 'access' AND revoked_at IS NULL AND expires_at > ?",
            arguments: [nowMillis])
    }

    /// Marks a refresh token spent; false when it already was (a concurrent redemption lost the race).
    public func spendRefreshToken(id: String, at millis: Int64) throws -> Bool {
        try db.execute(
            sql: "UPDATE oauth_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
            arguments: [millis, id])
        return db.changesCount == 1
    }

    public func revokeOAuthToken(id: String, at millis: Int64) throws {
        try db.execute(
            sql: "UPDATE oauth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [millis, id])
    }

    /// Revokes every token of a family; returns how many were still live.
    @discardableResult
    public func revokeOAuthFamily(_ familyId: String, at millis: Int64) throws -> Int {
        try db.execute(
            sql: "UPDATE oauth_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            arguments: [millis, familyId])
        return db.changesCount
    }

    /// Revokes every token minted for a key (when the key is revoked).
    public func revokeOAuthTokens(apiKeyId: String, at millis: Int64) throws {
        try db.execute(
            sql: "UPDATE oauth_tokens SET revoked_at = ? WHERE api_key_id = ? AND revoked_at IS NULL",
            arguments: [millis, apiKeyId])
    }

    /// Deletes tokens that expired before `millis` (housekeeping; their families cannot be reused after that).
    public func deleteOAuthTokens(expiredBefore millis: Int64) throws {
        try db.execute(sql: "DELETE FROM oauth_tokens WHERE expires_at < ?", arguments: [millis])
    }
}

extension StoreAccess {
    public func insert(_ authorization: OAuthAuthorization) throws { try authorization.insert(db) }

    public func update(_ authorization: OAuthAuthorization) throws { try authorization.update(db) }

    public func oauthAuthorization(id: String) throws -> OAuthAuthorization? {
        try OAuthAuthorization.filter(Column("id") == id).fetchOne(db)
    }

    public func oauthAuthorization(codeHash: String) throws -> OAuthAuthorization? {
        try OAuthAuthorization.filter(Column("code_hash") == codeHash).fetchOne(db)
    }

    /// Requests waiting for a decision, oldest first.
    public func pendingOAuthAuthorizations(at nowMillis: Int64) throws -> [OAuthAuthorization] {
        try OAuthAuthorization.fetchAll(
            db,
            sql:
                "SELECT * FROM oauth_authorizations WHERE status = 'pending' AND expires_at > ? ORDER BY created_at, id",
            arguments: [nowMillis])
    }

    /// Deletes requests that ended or expired a day ago (housekeeping).
    public func deleteOAuthAuthorizations(expiredBefore millis: Int64) throws {
        try db.execute(sql: "DELETE FROM oauth_authorizations WHERE expires_at < ?", arguments: [millis])
    }

    /// Deletes requests that expired while nobody decided them (nothing refers to them).
    public func deleteUndecidedOAuthAuthorizations(expiredBefore millis: Int64) throws {
        try db.execute(
            sql: "DELETE FROM oauth_authorizations WHERE status = 'pending' AND expires_at < ?", arguments: [millis])
    }

    /// Requests waiting for a decision: `(all, this client's)`.
    public func pendingOAuthAuthorizationCounts(apiKeyId: String, at nowMillis: Int64) throws -> (all: Int, client: Int)
    {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT count(*) AS all_pending, coalesce(sum(api_key_id = ?), 0) AS client_pending
                FROM oauth_authorizations WHERE status = 'pending' AND expires_at > ?
                """,
            arguments: [apiKeyId, nowMillis])
        return (row?["all_pending"] ?? 0, row?["client_pending"] ?? 0)
    }
}

extension StoreAccess {
    /// Records a workload assertion as used; false when it already was (a replay).
    public func useAssertion(hash: String, expiresAt: Int64, now: Int64) throws -> Bool {
        try db.execute(sql: "DELETE FROM oauth_used_assertions WHERE expires_at < ?", arguments: [now])
        try db.execute(
            sql: "INSERT OR IGNORE INTO oauth_used_assertions (assertion_hash, expires_at) VALUES (?, ?)",
            arguments: [hash, expiresAt])
        return db.changesCount == 1
    }
}
