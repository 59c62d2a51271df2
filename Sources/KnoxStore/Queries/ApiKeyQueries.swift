import GRDB
import KnoxCore

extension StoreAccess {
    public static let apiKeySortColumns = sortColumns(ApiKey.sortKeys)

    public func apiKeys(_ request: PageRequest) throws -> Page<ApiKey> {
        try page(ApiKey.self, from: "api_keys", request: request, sortColumns: Self.apiKeySortColumns)
    }

    public func allApiKeys() throws -> [ApiKey] {
        try ApiKey.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, id")
    }

    public func apiKey(id: String) throws -> ApiKey? {
        try ApiKey.filter(Column("id") == id).fetchOne(db)
    }

    /// By row id or by the key's public id (`key_id`).
    public func apiKey(idOrKeyId: String) throws -> ApiKey? {
        try ApiKey.fetchOne(
            db, sql: "SELECT * FROM api_keys WHERE id = ? OR key_id = ?", arguments: [idOrKeyId, idOrKeyId])
    }

    public func insert(_ key: ApiKey) throws { try key.insert(db) }

    public func revokeApiKey(id: String, at millis: Int64) throws {
        try db.execute(
            sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [millis, id])
    }

    /// Records when keys were last used (batched by the caller; not a configuration change).
    public func touchApiKeys(_ lastUsed: [String: Int64]) throws {
        // Cached: the log writer runs this with every batch.
        let statement = try db.cachedStatement(
            sql: "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?")
        for (id, millis) in lastUsed {
            try statement.execute(arguments: [millis, id])
        }
    }
}
