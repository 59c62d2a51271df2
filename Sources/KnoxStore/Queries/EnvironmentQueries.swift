import GRDB
import KnoxCore

extension StoreAccess {
    public func environments() throws -> [Environment] {
        try Environment.fetchAll(db, sql: "SELECT * FROM environments ORDER BY is_default DESC, created_at, name")
    }

    /// By id or by name.
    public func environment(_ idOrName: String) throws -> Environment? {
        try Environment.fetchOne(
            db, sql: "SELECT * FROM environments WHERE id = ? OR name = ?", arguments: [idOrName, idOrName])
    }

    public func insert(_ environment: Environment) throws { try environment.insert(db) }
    public func update(_ environment: Environment) throws { try environment.update(db) }

    /// Makes `name` the only default environment.
    public func setDefaultEnvironment(_ name: String) throws {
        try db.execute(sql: "UPDATE environments SET is_default = (name = ?)", arguments: [name])
    }

    public func deleteEnvironment(id: String) throws {
        try db.execute(sql: "DELETE FROM environments WHERE id = ?", arguments: [id])
    }

    /// What still uses an environment, as short phrases for an `in_use` message.
    public func environmentUsage(_ name: String) throws -> [String] {
        var uses: [String] = []
        let checks: [(String, String)] = [
            ("SELECT COUNT(*) FROM routes WHERE base_environment = ?", "route(s) use it as base environment"),
            (
                "SELECT COUNT(*) FROM route_environment_configs WHERE environment_name = ?",
                "route environment config(s)"
            ),
            ("SELECT COUNT(*) FROM secrets WHERE base_environment = ?", "secret(s) use it as base environment"),
            ("SELECT COUNT(*) FROM secret_values WHERE environment_name = ?", "secret value(s)"),
            ("SELECT COUNT(*) FROM route_clients WHERE environment_name = ?", "client assignment(s)"),
        ]
        for (sql, label) in checks {
            let n = try Int.fetchOne(db, sql: sql, arguments: [name]) ?? 0
            if n > 0 { uses.append("\(n) \(label)") }
        }
        return uses
    }
}
