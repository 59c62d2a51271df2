/// Who made a change: recorded on every audit row.
public enum Actor: Sendable, Equatable {
    /// A caller of the management API, by the key's id and its displayable prefix.
    case apiKey(id: String, prefix: String, permissions: PermissionSet)
    /// The operator at the ncurses console.
    case console
    /// The operator at the command line (`knoxcall keys …`).
    case cli
    /// A workload holding an OAuth token from a trusted OIDC issuer (token exchange), by its subject.
    case workload(subject: String, permissions: PermissionSet)

    /// Stable text for the audit row's `actor` column.
    public var auditLabel: String {
        switch self {
        case .apiKey(let id, _, _): "api_key:\(id)"
        case .console: "console"
        case .cli: "cli"
        case .workload(let subject, _): "workload:\(subject)"
        }
    }

    /// The API key id, when the actor is a key.
    public var apiKeyId: String? {
        if case .apiKey(let id, _, _) = self { id } else { nil }
    }

    /// What the actor may do. Local operators (console, CLI) may do everything.
    public var permissions: PermissionSet {
        switch self {
        case .apiKey(_, _, let p), .workload(_, let p): p
        case .console, .cli: .all
        }
    }
}
