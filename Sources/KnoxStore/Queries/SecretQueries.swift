import GRDB
import KnoxCore

extension StoreAccess {
    public static let secretSortColumns = sortColumns(Secret.sortKeys)

    public func secrets(_ request: PageRequest) throws -> Page<Secret> {
        try page(Secret.self, from: "secrets", request: request, sortColumns: Self.secretSortColumns)
    }

    public func allSecrets() throws -> [Secret] {
        try Secret.fetchAll(db, sql: "SELECT * FROM secrets ORDER BY name")
    }

    public func secret(id: String) throws -> Secret? {
        try Secret.filter(Column("id") == id).fetchOne(db)
    }

    public func secret(name: String) throws -> Secret? {
        try Secret.filter(Column("name") == name).fetchOne(db)
    }

    public func insert(_ secret: Secret) throws { try secret.insert(db) }
    public func update(_ secret: Secret) throws { try secret.update(db) }

    public func deleteSecret(id: String) throws {
        try db.execute(sql: "DELETE FROM secrets WHERE id = ?", arguments: [id])
    }

    public func secretValues(secretId: String) throws -> [SealedSecretValue] {
        try SealedSecretValue.fetchAll(
            db, sql: "SELECT * FROM secret_values WHERE secret_id = ? ORDER BY environment_name", arguments: [secretId])
    }

    public func allSecretValues() throws -> [SealedSecretValue] {
        try SealedSecretValue.fetchAll(db, sql: "SELECT * FROM secret_values ORDER BY secret_id, environment_name")
    }

    /// Number of environments holding a value, per secret id.
    public func secretValueCounts() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT secret_id, COUNT(*) AS n FROM secret_values GROUP BY secret_id") {
            out[row["secret_id"]] = row["n"]
        }
        return out
    }

    /// Inserts or replaces one environment's value.
    public func save(_ value: SealedSecretValue) throws {
        try db.execute(
            sql: "DELETE FROM secret_values WHERE secret_id = ? AND environment_name = ?",
            arguments: [value.secretId, value.environmentName])
        try value.insert(db)
    }
}
