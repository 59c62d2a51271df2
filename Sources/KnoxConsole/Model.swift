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
    public var rows: [PaneRow] = []
    public var selection = 0
    public var scroll = 0
    public var filter = ""
    public var loaded = false
    public var error: String?

    public init() {}

    /// Rows passing the filter (case-insensitive, over every cell shown).
    public func visible(_ pane: Pane) -> [PaneRow] {
        guard !filter.isEmpty else { return rows }
        let needle = filter.lowercased()
        return rows.filter { row in Columns.of(pane).contains { $0.value(row).lowercased().contains(needle) } }
    }
}

/// The live request log of one mode.
///
/// The rows passing the filters are kept as an index (`matches`), maintained as rows arrive and as filters change, so
/// a busy log with a filter costs per new row, not per kept row, on every batch and every frame.
public struct LogState: Sendable, Equatable {
    /// The rows kept in memory, oldest first (at most `capacity`).
    public private(set) var rows: [RequestLogEntry] = []
    public var follow = true
    /// Rows that arrived while follow was paused.
    public var newWhilePaused = 0
    public var selection = 0
    public var scroll = 0
    public var statusClass: Int? { didSet { if statusClass != oldValue { refilter() } } }
    public var method: String? { didSet { if method != oldValue { refilter() } } }
    public var routeId: String? { didSet { if routeId != oldValue { refilter() } } }
    public var text = "" {
        didSet {
            guard text != oldValue else { return }
            // A longer needle only narrows: look again at the rows that matched, not at every row.
            let narrows = !oldValue.isEmpty && text.lowercased().contains(oldValue.lowercased())
            refilter(narrowing: narrows)
        }
    }
    /// Route names by id (the free-text filter matches them too).
    public var routeNames: [String: String] = [:] {
        didSet { if !text.isEmpty && routeNames != oldValue { refilter() } }
    }
    public var lastSeq: Int64 = 0
    /// Indices into `rows` of the rows passing the filters (empty and unused while no filter is set).
    private var matches: [Int] = []
    public static let capacity = 50_000

    public init() {}

    public var isFiltered: Bool { statusClass != nil || method != nil || routeId != nil || !text.isEmpty }

    /// How many rows pass the filters.
    public var visibleCount: Int { isFiltered ? matches.count : rows.count }

    /// The `index`-th row passing the filters, oldest first.
    public func visibleRow(_ index: Int) -> RequestLogEntry { isFiltered ? rows[matches[index]] : rows[index] }

    /// Rows passing the filters, oldest first.
    public var visible: [RequestLogEntry] { isFiltered ? matches.map { rows[$0] } : rows }

    /// Appends the rows not seen yet (in sequence order), trims to the capacity and counts arrivals while paused.
    /// False when none was new.
    public mutating func append(_ batch: [RequestLogEntry]) -> Bool {
        let fresh = batch.filter { $0.seq > lastSeq }.sorted { $0.seq < $1.seq }
        guard let last = fresh.last else { return false }
        lastSeq = last.seq
        let first = rows.count
        rows.append(contentsOf: fresh)
        if isFiltered {
            let filter = LogFilter(self)
            for i in first..<rows.count where filter.matches(rows[i]) { matches.append(i) }
        }
        if rows.count > LogState.capacity {
            let drop = rows.count - LogState.capacity
            rows.removeFirst(drop)
            if isFiltered {
                let kept = matches.firstIndex { $0 >= drop } ?? matches.count
                matches.removeFirst(kept)
                for i in matches.indices { matches[i] -= drop }
            }
            selection = max(0, selection - drop)
            scroll = max(0, scroll - drop)
        }
        if !follow { newWhilePaused += fresh.count }
        return true
    }

    private mutating func refilter(narrowing: Bool = false) {
        guard isFiltered else {
            matches = []
            return
        }
        let filter = LogFilter(self)
        if narrowing {
            matches.removeAll { !filter.matches(rows[$0]) }
        } else {
            matches = rows.indices.filter { filter.matches(rows[$0]) }
        }
    }
}

/// The log filters, ready to test rows.
private struct LogFilter {
    let statusClass: Int?
    let method: String?
    let routeId: String?
    let needle: String
    let routeNames: [String: String]

    init(_ log: LogState) {
        statusClass = log.statusClass
        method = log.method
        routeId = log.routeId
        needle = log.text.lowercased()
        routeNames = log.routeNames
    }

    func matches(_ row: RequestLogEntry) -> Bool {
        if let c = statusClass, (row.statusCode ?? 0) / 100 != c { return false }
        if let m = method, row.method != m { return false }
        if let r = routeId, row.routeId != r { return false }
        if !needle.isEmpty {
            let hay =
                "\(row.method) \(row.path) \(row.statusCode ?? 0) \(row.error ?? "") \(row.srcIp ?? "") \(routeNames[row.routeId ?? ""] ?? "")"
                .lowercased()
            if !hay.contains(needle) { return false }
        }
        return true
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
