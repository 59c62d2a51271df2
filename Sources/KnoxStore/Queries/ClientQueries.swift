import GRDB
import KnoxCore

/// A client assignment with the names a listing shows.
public struct AssignmentDetail: Sendable, Equatable {
    public let assignment: ClientAssignment
    public let routeName: String
    public let client: Client
}

extension StoreAccess {
    public static let clientSortColumns = sortColumns(Client.sortKeys)

    public func clients(_ request: PageRequest, type: Client.Kind?) throws -> Page<Client> {
        var conditions: [String] = []
        var args: StatementArguments = []
        if let type {
            conditions.append("type = ?")
            args += [type.rawValue]
        }
        return try page(
            Client.self, from: "clients", where: conditions, arguments: args, request: request,
            sortColumns: Self.clientSortColumns)
    }

    public func allClients() throws -> [Client] {
        try Client.fetchAll(db, sql: "SELECT * FROM clients ORDER BY created_at, id")
    }

    public func client(id: String) throws -> Client? {
        try Client.filter(Column("id") == id).fetchOne(db)
    }

    public func insert(_ client: Client) throws { try client.insert(db) }
    public func update(_ client: Client) throws { try client.update(db) }

    public func deleteClient(id: String) throws {
        try db.execute(sql: "DELETE FROM clients WHERE id = ?", arguments: [id])
    }

    public func allAssignments() throws -> [ClientAssignment] {
        try ClientAssignment.fetchAll(db, sql: "SELECT * FROM route_clients ORDER BY route_id, created_at")
    }

    /// Assignments of one route or of one client, with names.
    public func assignmentDetails(routeId: String?, clientId: String?) throws -> [AssignmentDetail] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT rc.route_id, rc.client_id, rc.environment_name, rc.created_at AS assigned_at,
                       routes.name AS route_name, clients.*
                FROM route_clients rc
                JOIN routes ON routes.id = rc.route_id
                JOIN clients ON clients.id = rc.client_id
                WHERE (? IS NULL OR rc.route_id = ?) AND (? IS NULL OR rc.client_id = ?)
                ORDER BY routes.name, clients.name, rc.environment_name
                """,
            arguments: [routeId, routeId, clientId, clientId])
        return try rows.map { row in
            AssignmentDetail(
                assignment: ClientAssignment(
                    routeId: row["route_id"], clientId: row["client_id"], environmentName: row["environment_name"],
                    createdAt: row["assigned_at"]),
                routeName: row["route_name"], client: try Client(row: row))
        }
    }

    public func assignmentExists(_ a: ClientAssignment) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql:
                "SELECT EXISTS(SELECT 1 FROM route_clients WHERE route_id = ? AND client_id = ? AND environment_name = ?)",
            arguments: [a.routeId, a.clientId, a.environmentName]) ?? false
    }

    public func insert(_ assignment: ClientAssignment) throws { try assignment.insert(db) }

    public func deleteAssignment(routeId: String, clientId: String, environment: String) throws -> Bool {
        try db.execute(
            sql: "DELETE FROM route_clients WHERE route_id = ? AND client_id = ? AND environment_name = ?",
            arguments: [routeId, clientId, environment])
        return db.changesCount > 0
    }
}
