import KnoxCore
import KnoxEngine

/// Query parameters per operation, for the OpenAPI document.
enum QueryParameters {
    static func page(sort: [String]) -> [(String, JSONValue, String)] {
        [
            ("page", S.integer(minimum: 1, maximum: PageRequest.maxPage), "Page number (default 1)"),
            (
                "per_page", S.integer(minimum: 1, maximum: PageRequest.maxPerPage),
                "Items per page (default 20, max 100)"
            ),
            ("sort", S.string(values: sort), "Field to sort by"),
            ("order", S.string(values: ["asc", "desc"]), "Sort direction"),
        ]
    }

    /// A feed's cursor: the position of the last row read (a decimal number).
    static let cursor = S.string(pattern: "^[0-9]{1,18}$")

    static let auditFilters: [(String, JSONValue, String)] = [
        ("action", S.string(minLength: 1, maxLength: 100), "Exact action, e.g. route.created"),
        ("action_prefix", S.string(minLength: 1, maxLength: 100), "Action prefix, e.g. route."),
        ("resource_type", S.string(minLength: 1, maxLength: 100), "route, secret, client, environment, api_key"),
        ("resource_id", S.string(minLength: 1, maxLength: 100), "One resource's id"),
        ("from", S.time(), "Inclusive lower bound (RFC 3339)"),
        ("to", S.time(), "Exclusive upper bound (RFC 3339)"),
    ]

    static func of(_ operationId: String) -> [(String, JSONValue, String)] {
        switch operationId {
        case "listRoutes":
            page(sort: Engine.routeSortKeys) + [("enabled", S.boolean(), "Only enabled or disabled routes")]
        case "listRouteLogs": page(sort: ["ts", "status_code", "latency_ms"])
        case "listSecrets": page(sort: Engine.secretSortKeys)
        case "listClients":
            page(sort: Engine.clientSortKeys) + [("type", S.string(values: ["user", "server"]), "Client type")]
        case "listApiKeys": page(sort: Engine.apiKeySortKeys)
        case "listRoles": page(sort: ["name"]) + [("subject_kind", S.string(values: ["api_key", "user"]), "Audience")]
        case "listAuditLogs": page(sort: ["created_at", "action"]) + auditFilters
        case "listAuditEvents":
            [
                ("cursor", cursor, "Cursor from meta.next_cursor"),
                ("limit", S.integer(minimum: 1, maximum: 500), "Rows (default 100)"),
            ]
                + auditFilters
        case "listRequestLogs":
            [
                ("cursor", cursor, "Cursor from meta.next_cursor"),
                ("limit", S.integer(minimum: 1, maximum: 1000), "Rows (default 100)"),
                ("route_id", S.string(minLength: 1, maxLength: 64), "One route (its id)"),
                ("status_code", S.integer(minimum: 100, maximum: 599), "One status"),
            ]
        case "setSecretValue", "getSecretOAuth2Token":
            [("environment", S.string(), "Target environment (default: base)")]
        case "unassignRouteClient": [("environment", S.string(), "Environment of the assignment (default: base)")]
        default: []
        }
    }
}
