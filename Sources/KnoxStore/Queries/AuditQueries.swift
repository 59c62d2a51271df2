import GRDB
import KnoxCore

/// Filters of the audit log listing.
public struct AuditFilter: Sendable, Equatable {
    public var action: String?
    /// Matches actions starting with this text (`route.`).
    public var actionPrefix: String?
    public var resourceType: String?
    public var resourceId: String?
    /// Inclusive lower bound, epoch milliseconds.
    public var from: Int64?
    /// Exclusive upper bound, epoch milliseconds.
    public var to: Int64?

    public init(
        action: String? = nil, actionPrefix: String? = nil, resourceType: String? = nil, resourceId: String? = nil,
        from: Int64? = nil, to: Int64? = nil
    ) {
        self.action = action
        self.actionPrefix = actionPrefix
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.from = from
        self.to = to
    }

    func sql() -> ([String], StatementArguments) {
        var conditions: [String] = []
        var args: StatementArguments = []
        if let action { conditions.append("action = ?"); args += [action] }
        if let actionPrefix {
            conditions.append("substr(action, 1, ?) = ?")
            args += [actionPrefix.count, actionPrefix]
        }
        if let resourceType { conditions.append("resource_type = ?"); args += [resourceType] }
        if let resourceId { conditions.append("resource_id = ?"); args += [resourceId] }
        if let from { conditions.append("created_at >= ?"); args += [from] }
        if let to { conditions.append("created_at < ?"); args += [to] }
        return (conditions, args)
    }
}

extension StoreAccess {
    public static let auditSortColumns = ["created_at": "created_at", "action": "action"]

    public func insert(_ entry: AuditEntry) throws {
        try db.execute(
            sql: """
                INSERT INTO audit_logs (id, action, resource_type, resource_id, details, ip_address, actor, api_key_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                entry.id, entry.action, entry.resourceType, entry.resourceId,
                JSONValue.object(entry.details).serialized(),
                entry.ipAddress, entry.actor, entry.apiKeyId, entry.createdAt,
            ])
    }

    public func auditEntries(_ request: PageRequest, filter: AuditFilter) throws -> Page<AuditEntry> {
        let (conditions, args) = filter.sql()
        return try page(
            AuditEntry.self, from: "audit_logs", where: conditions, arguments: args, request: request,
            sortColumns: Self.auditSortColumns, tiebreak: "seq")
    }

    /// Keyset feed: entries with `seq` above `after`, oldest first.
    public func auditFeed(after: Int64, limit: Int, filter: AuditFilter) throws -> [AuditEntry] {
        var (conditions, args) = filter.sql()
        conditions.append("seq > ?")
        args += [after, limit]
        return try AuditEntry.fetchAll(
            db,
            sql: "SELECT * FROM audit_logs WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq LIMIT ?",
            arguments: args)
    }

    public func allAuditEntries() throws -> [AuditEntry] {
        try AuditEntry.fetchAll(db, sql: "SELECT * FROM audit_logs ORDER BY seq")
    }
}
