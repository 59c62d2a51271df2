import GRDB
import KnoxCore

extension StoreAccess {
    /// The columns of a resource's sort keys: each key is the name of a stored field, which is its column.
    static func sortColumns(_ keys: [String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: keys.map { ($0, $0) })
    }

    /// Runs a page query: `SELECT * FROM <from> [WHERE …] ORDER BY <sort column> <order>, <tiebreak> LIMIT/OFFSET`,
    /// plus the count. `sortColumns` maps each API sort name to its SQL column; only whitelisted names reach SQL.
    func page<T: FetchableRecord & Sendable>(
        _ type: T.Type, from table: String, where conditions: [String] = [], arguments: StatementArguments = [],
        request: PageRequest, sortColumns: [String: String], tiebreak: String = "id"
    ) throws -> Page<T> {
        let whereSQL = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)\(whereSQL)", arguments: arguments) ?? 0
        let column = sortColumns[request.sort] ?? "created_at"
        let direction = request.order == .asc ? "ASC" : "DESC"
        var args = arguments
        args += [request.perPage, request.offset]
        let items = try T.fetchAll(
            db,
            sql: """
                SELECT * FROM \(table)\(whereSQL)
                ORDER BY \(column) \(direction), \(tiebreak) \(direction) LIMIT ? OFFSET ?
                """,
            arguments: args)
        return Page(items: items, total: total, request: request)
    }
}
