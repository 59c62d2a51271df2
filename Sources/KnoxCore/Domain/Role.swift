/// A permission string `resource:action`, where either side may be `*`.
public struct Permission: Sendable, Hashable, CustomStringConvertible {
    public let resource: String
    public let action: String

    public init(_ resource: String, _ action: String) {
        self.resource = resource
        self.action = action
    }

    /// Parses `routes:read`; nil for anything without exactly one `:` and two non-empty parts.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            text.utf8.allSatisfy({
                ($0 >= 97 && $0 <= 122) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "*")
            })
        else { return nil }
        resource = String(parts[0])
        action = String(parts[1])
    }

    /// Whether holding this grant allows `other` (which may itself contain wildcards).
    public func covers(_ other: Permission) -> Bool {
        (resource == "*" || resource == other.resource) && (action == "*" || action == other.action)
    }

    public var description: String { "\(resource):\(action)" }
}

/// The grants a key holds.
public struct PermissionSet: Sendable, Equatable {
    public let grants: [Permission]

    public init(_ grants: [Permission]) { self.grants = grants }
    public init(_ strings: [String]) { grants = strings.compactMap(Permission.init) }

    /// Every permission.
    public static let all = PermissionSet([Permission("*", "*")])

    public func allows(_ permission: Permission) -> Bool { grants.contains { $0.covers(permission) } }
    public func allows(_ text: String) -> Bool { Permission(text).map(allows) ?? false }

    /// The first of `requested` that this set does not cover, if any (for `privilege_escalation`).
    public func firstUncovered(_ requested: [Permission]) -> Permission? {
        requested.first { !allows($0) }
    }
}

/// The seeded key roles (public facts §5.4), fixed in code so that their ids are the same everywhere.
public struct Role: Sendable, Equatable, Identifiable {
    public let id: String
    /// Short name accepted by `knoxcall keys create --role`.
    public let slug: String
    public let name: String
    public let description: String
    public let grants: [Permission]

    /// Every permission name the product checks, for validation of access-key scopes.
    public static let knownPermissions: [String] = [
        "routes:read", "routes:write", "secrets:read", "secrets:write", "clients:read", "clients:write",
        "environments:read", "environments:write", "api_keys:read", "api_keys:write", "audit_log:list",
        "log:read", "log:read_identity", "webhooks:read", "webhooks:write", "proxy:invoke",
    ]

    private static let readAll: [Permission] = [
        Permission("*", "read"), Permission("audit_log", "list"), Permission("log", "read"),
    ]

    public static let admin = Role(
        id: "5e3c1a40-0000-4000-8000-000000000001", slug: "admin", name: "Key — Admin",
        description: "Everything, including API keys. The default for keys made with `knoxcall keys create`.",
        grants: [Permission("*", "*")])
    public static let editor = Role(
        id: "5e3c1a40-0000-4000-8000-000000000002", slug: "editor", name: "Key — Editor",
        description:
            "Read everything; create, change and delete routes, secrets, clients, environments and webhooks; call routes.",
        grants: readAll + [
            Permission("routes", "write"), Permission("secrets", "write"), Permission("clients", "write"),
            Permission("environments", "write"), Permission("webhooks", "write"), Permission("proxy", "invoke"),
        ])
    public static let readOnly = Role(
        id: "5e3c1a40-0000-4000-8000-000000000003", slug: "read-only", name: "Key — Read-only",
        description: "Read configuration, audit logs and request logs; change nothing.",
        grants: readAll)
    public static let infrastructure = Role(
        id: "5e3c1a40-0000-4000-8000-000000000004", slug: "infrastructure", name: "Key — Infrastructure",
        description:
            "Read everything; manage environments, clients and API keys (for provisioning pipelines); call routes.",
        grants: readAll + [
            Permission("environments", "write"), Permission("clients", "write"), Permission("api_keys", "write"),
            Permission("proxy", "invoke"),
        ])
    public static let invoke = Role(
        id: "5e3c1a40-0000-4000-8000-000000000005", slug: "invoke", name: "Key — Invoke",
        description: "Call routes through the data plane; no management access.",
        grants: [Permission("proxy", "invoke")])

    /// All seeded roles, most privileged first.
    public static let seeded: [Role] = [admin, editor, infrastructure, readOnly, invoke]

    public static func seeded(id: String) -> Role? { seeded.first { $0.id == id } }
    /// Finds a seeded role by id, slug or display name.
    public static func seeded(matching text: String) -> Role? {
        seeded.first { $0.id == text.lowercased() || $0.slug == text.lowercased() || $0.name == text }
    }
}
