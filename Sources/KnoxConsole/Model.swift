import KnoxCore

/// The panes, in tab order; their number is the key that opens them.
public enum Pane: Int, CaseIterable, Sendable {
    case routes = 1, secrets, clients, logs, environments, apiKeys, audit

    public var title: String {
        switch self {
        case .routes: "Routes"
        case .secrets: "Secrets"
        case .clients: "Clients"
        case .logs: "Logs"
        case .environments: "Environments"
        case .apiKeys: "API keys"
        case .audit: "Audit"
        }
    }

    /// The short tab label.
    public var tab: String {
        switch self {
        case .environments: "Envs"
        case .apiKeys: "Keys"
        default: title
        }
    }

    /// `:` commands that open the pane.
    public var commands: [String] {
        switch self {
        case .routes: ["routes", "route", "rt"]
        case .secrets: ["secrets", "secret", "sec"]
        case .clients: ["clients", "client", "cl"]
        case .logs: ["logs", "log"]
        case .environments: ["environments", "envs", "env"]
        case .apiKeys: ["keys", "api-keys", "apikeys"]
        case .audit: ["audit", "audit-logs"]
        }
    }
}

/// A key press, decoded by the backend.
public enum Key: Sendable, Equatable, Hashable {
    case char(Character)
    case ctrl(Character)
    case enter, escape, tab, backTab, backspace, delete
    case up, down, left, right, pageUp, pageDown, home, end
}

/// A mouse action the console understands.
public enum MouseAction: Sendable, Equatable {
    case click(x: Int, y: Int)
    case wheelUp
    case wheelDown
}

/// Figures for the header.
public struct HeaderStats: Sendable, Equatable {
    public var requestsPerSecond: Double = 0
    public var errorRate: Double = 0
    public var dropped = 0

    public init(requestsPerSecond: Double = 0, errorRate: Double = 0, dropped: Int = 0) {
        self.requestsPerSecond = requestsPerSecond
        self.errorRate = errorRate
        self.dropped = dropped
    }
}

/// What the runtime tells the console about where it runs.
public struct Deployment: Sendable, Equatable {
    public var dataDirectory: String
    /// "127.0.0.1:8700" etc. per mode; nil when not listening (`--no-listen`).
    public var apiAddress: [Mode: String]
    public var proxyAddress: [Mode: String]

    public init(dataDirectory: String, apiAddress: [Mode: String] = [:], proxyAddress: [Mode: String] = [:]) {
        self.dataDirectory = dataDirectory
        self.apiAddress = apiAddress
        self.proxyAddress = proxyAddress
    }
}

/// One list pane's rows and cursor.
public struct ListState: Sendable, Equatable {
    public var rows: [JSONValue] = []
    public var selection = 0
    public var scroll = 0
    public var filter = ""
    public var loaded = false
    public var error: String?

    public init() {}

    /// Rows passing the filter (case-insensitive, over every cell shown).
    public func visible(_ pane: Pane) -> [JSONValue] {
        guard !filter.isEmpty else { return rows }
        let needle = filter.lowercased()
        return rows.filter { row in Columns.of(pane).contains { $0.value(row).lowercased().contains(needle) } }
    }
}

/// The live request log of one mode.
public struct LogState: Sendable, Equatable {
    /// The rows kept in memory, oldest first (at most `capacity`).
    public var rows: [RequestLogEntry] = []
    public var follow = true
    /// Rows that arrived while follow was paused.
    public var newWhilePaused = 0
    public var selection = 0
    public var scroll = 0
    public var statusClass: Int?
    public var method: String?
    public var routeId: String?
    public var text = ""
    public var lastSeq: Int64 = 0
    public static let capacity = 50_000

    public init() {}

    /// Rows passing the filters, oldest first.
    public func visible(routeNames: [String: String]) -> [RequestLogEntry] {
        if statusClass == nil && method == nil && routeId == nil && text.isEmpty { return rows }
        let needle = text.lowercased()
        return rows.filter { row in
            if let c = statusClass, (row.statusCode ?? 0) / 100 != c { return false }
            if let m = method, row.method != m { return false }
            if let r = routeId, row.routeId != r { return false }
            if !needle.isEmpty {
                let hay = "\(row.method) \(row.path) \(row.statusCode ?? 0) \(row.error ?? "") \(row.srcIp ?? "") \(routeNames[row.routeId ?? ""] ?? "")"
                    .lowercased()
                if !hay.contains(needle) { return false }
            }
            return true
        }
    }
}

/// A transient message on the hint line.
public struct Toast: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case info, success, error }
    public var text: String
    public var kind: Kind
    /// Ticks (of ~100 ms) left before it disappears.
    public var ticksLeft: Int

    public init(_ text: String, _ kind: Kind, ticks: Int = 40) {
        self.text = text
        self.kind = kind
        ticksLeft = ticks
    }
}
