import KnoxCore
import KnoxEngine

/// A column of a list pane.
public struct Column: Sendable {
    public let title: String
    public let width: Int
    /// Takes the remaining width (shared between flexible columns).
    public let flexible: Bool
    public let value: @Sendable (PaneRow) -> String

    init(_ title: String, _ width: Int, flexible: Bool = false, _ value: @escaping @Sendable (PaneRow) -> String) {
        self.title = title
        self.width = width
        self.flexible = flexible
        self.value = value
    }

    /// Widths for `columns` in `total` columns (one space between columns). `custom` holds the operator's widths by
    /// column title (`<` / `>`); a column given a width keeps it, and flexible ones share what is left.
    public static func layout(_ columns: [Column], total: Int, custom: [String: Int] = [:]) -> [Int] {
        func isFlexible(_ c: Column) -> Bool { c.flexible && custom[c.title] == nil }
        let fixed =
            columns.filter { !isFlexible($0) }.reduce(0) { $0 + (custom[$1.title] ?? $1.width) }
            + max(0, columns.count - 1)
        let flexCount = max(1, columns.filter(isFlexible).count)
        let spare = max(0, total - fixed)
        return columns.map { isFlexible($0) ? max($0.width, spare / flexCount) : (custom[$0.title] ?? $0.width) }
    }

    /// Narrowest and widest a column can be made.
    public static let widthRange = 3...120
}

enum Columns {
    /// A JSON value as one cell: a string as it is, a number in digits, anything else blank.
    static func cell(_ value: JSONValue?) -> String { value?.stringValue ?? (value?.intValue.map(String.init) ?? "") }

    static func yesNo(_ flag: Bool) -> String { flag ? "yes" : "no" }

    /// `2026-11-22 22:08`, or `-` for none.
    static func minute(_ millis: Int64?) -> String {
        guard let millis else { return "-" }
        let t = Timestamp.format(millis: millis)
        return String(t.prefix(10)) + " " + String(t.dropFirst(11).prefix(5))
    }

    /// The columns a resource's descriptors give, in their positions, each cell shown by its field from the row's
    /// typed value (`root`), with the columns of `context` (values that are not fields of the resource, such as a
    /// secret's environment count) in theirs.
    static func described<Root>(
        _ fields: [ResourceField<Root>], _ root: @escaping @Sendable (PaneRow) -> Root?, context: [Int: Column] = [:]
    ) -> [Column] {
        let own: [(Int, Column)] = fields.compactMap { f in f.console?.column.map { (f, $0) } }.map { field, c in
            let value: @Sendable (PaneRow) -> String = { row in
                let shown = root(row).flatMap(field.wire)
                switch c.render {
                case .text: return cell(shown)
                case .flag: return yesNo(shown?.boolValue == true)
                case .time:
                    guard let t = shown?.stringValue, t.count >= 16 else { return "-" }
                    return String(t.prefix(10)) + " " + String(t.dropFirst(11).prefix(5))
                }
            }
            return (c.position, Column(c.title, c.width, flexible: c.flexible, value))
        }
        return (own + context.map { ($0.key, $0.value) }).sorted { $0.0 < $1.0 }.map { $0.1 }
    }

    static func route(_ row: PaneRow) -> RouteView? { if case .route(let v) = row.value { v } else { nil } }
    static func secret(_ row: PaneRow) -> SecretSummary? { if case .secret(let s) = row.value { s } else { nil } }
    static func client(_ row: PaneRow) -> Client? { if case .client(let c) = row.value { c } else { nil } }
    static func environment(_ row: PaneRow) -> Environment? {
        if case .environment(let e) = row.value { e } else { nil }
    }

    /// An API keys pane row: a key, or an authorization request waiting for the operator.
    static func keyCells(_ row: PaneRow) -> (prefix: String, type: String, status: String, expires: Int64?)? {
        switch row.value {
        case .apiKey(let k): (k.keyPrefix, k.keyType.rawValue, k.active ? "active" : "revoked", k.expiresAt)
        case .authorization(let p): (p.keyPrefix, "oauth request", "pending", p.request.expiresAt)
        default: nil
        }
    }

    static func audit(_ row: PaneRow) -> AuditEntry? { if case .audit(let a) = row.value { a } else { nil } }

    static func of(_ pane: Pane) -> [Column] {
        switch pane {
        case .routes:
            [
                Column("NAME", 16, flexible: true) { route($0)?.route.name ?? "" },
                Column("SLUG", 14) { route($0)?.route.slug ?? "" },
                Column("TARGET", 18, flexible: true) { route($0)?.baseSettings.targetBaseURL ?? "" },
                Column("BASE ENV", 10) { route($0)?.route.baseEnvironment ?? "" },
                Column("ON", 3) { yesNo(route($0)?.route.enabled == true) },
                Column("CLIENTS", 7) { route($0)?.route.requiresClients == true ? "req" : "any" },
                Column("ENVS", 4) { String((route($0)?.overrides.count ?? 0) + 1) },
            ]
        case .secrets:
            described(
                Secret.fields, { secret($0)?.secret },
                context: [3: Column("ENVS", 4) { secret($0).map { String($0.environmentCount) } ?? "" }])
        case .clients: described(Client.fields, client)
        case .environments: described(Environment.fields, environment)
        case .apiKeys:
            [
                Column("NAME", 14, flexible: true) { $0.name ?? "" },
                Column("KEY", 23) { (keyCells($0)?.prefix ?? "") + "_…" },
                Column("TYPE", 10) { keyCells($0)?.type ?? "" },
                Column("STATUS", 7) { keyCells($0)?.status ?? "revoked" },
                Column("EXPIRES", 10) { row in
                    keyCells(row)?.expires.map { String(Timestamp.format(millis: $0).prefix(10)) } ?? "never"
                },
            ]
        case .audit:
            [
                Column("TIME", 16) { minute(audit($0)?.createdAt) },
                Column("ACTION", 24) { audit($0)?.action ?? "" },
                Column("RESOURCE", 12) { audit($0)?.resourceType ?? "" },
                Column("ACTOR", 14, flexible: true) { audit($0)?.actor ?? "" },
            ]
        case .logs:
            // Drawn by `LogView` from the entries; the titles and widths live here so resizing works the same way.
            [
                Column("TIME", 8) { _ in "" }, Column("METHOD", 7) { _ in "" }, Column("ST", 3) { _ in "" },
                Column("MS", 5) { _ in "" }, Column("ROUTE", 14) { _ in "" },
                Column("PATH", 10, flexible: true) { _ in "" }, Column("CLIENT", 15) { _ in "" },
                Column("ERROR", 18) { _ in "" },
            ]
        }
    }

    /// The columns shown for `pane` at `width` (the log drops ERROR below 110 columns).
    static func shown(_ pane: Pane, width: Int) -> [Column] {
        pane == .logs && width < 110 ? of(pane).filter { $0.title != "ERROR" } : of(pane)
    }

    /// The key under which a column's width is remembered.
    static func key(_ pane: Pane, _ title: String) -> String { "\(pane.commands[0]).\(title)" }

    /// The operator's widths for `pane`'s columns, by title.
    static func custom(_ s: ConsoleState, _ pane: Pane) -> [String: Int] {
        var out: [String: Int] = [:]
        let prefix = pane.commands[0] + "."
        for (key, width) in s.columnWidths where key.hasPrefix(prefix) {
            out[String(key.dropFirst(prefix.count))] = width
        }
        return out
    }
}
