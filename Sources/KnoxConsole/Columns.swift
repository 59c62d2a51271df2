import KnoxCore

/// A column of a list pane.
public struct Column: Sendable {
    public let title: String
    public let width: Int
    /// Takes the remaining width (shared between flexible columns).
    public let flexible: Bool
    public let value: @Sendable (JSONValue) -> String

    init(_ title: String, _ width: Int, flexible: Bool = false, _ value: @escaping @Sendable (JSONValue) -> String) {
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
    static func text(_ key: String) -> @Sendable (JSONValue) -> String {
        { $0[key]?.stringValue ?? ($0[key]?.intValue.map(String.init) ?? "") }
    }

    static func flag(_ key: String) -> @Sendable (JSONValue) -> String {
        { $0[key]?.boolValue == true ? "yes" : "no" }
    }

    /// The columns a resource's descriptors give, in their positions, with the columns of `context` (keys of the
    /// wire row that are not fields of the resource, such as a secret's `environment_count`) in theirs.
    static func described<Root>(_ fields: [ResourceField<Root>], context: [Int: Column] = [:]) -> [Column] {
        let own: [(Int, Column)] = fields.compactMap { f in f.console?.column.map { (f.name, $0) } }.map { name, c in
            let value: @Sendable (JSONValue) -> String =
                switch c.render {
                case .text: text(name)
                case .flag: flag(name)
                case .time: time(name)
                }
            return (c.position, Column(c.title, c.width, flexible: c.flexible, value))
        }
        return (own + context.map { ($0.key, $0.value) }).sorted { $0.0 < $1.0 }.map { $0.1 }
    }

    /// `2026-11-22T22:08:08.030Z` → `2026-11-22 22:08`.
    static func time(_ key: String) -> @Sendable (JSONValue) -> String {
        { row in
            guard let t = row[key]?.stringValue, t.count >= 16 else { return "-" }
            return String(t.prefix(10)) + " " + String(t.dropFirst(11).prefix(5))
        }
    }

    static func of(_ pane: Pane) -> [Column] {
        switch pane {
        case .routes:
            [
                Column("NAME", 16, flexible: true, text("name")), Column("SLUG", 14, text("slug")),
                Column("TARGET", 18, flexible: true, text("target_base_url")),
                Column("BASE ENV", 10, text("base_environment")),
                Column("ON", 3, flag("enabled")),
                Column("CLIENTS", 7) { $0["requires_clients"]?.boolValue == true ? "req" : "any" },
                Column("ENVS", 4) { String(($0["environment_override_count"]?.intValue ?? 0) + 1) },
            ]
        case .secrets: described(Secret.fields, context: [3: Column("ENVS", 4, text("environment_count"))])
        case .clients: described(Client.fields)
        case .environments: described(Environment.fields)
        case .apiKeys:
            [
                Column("NAME", 14, flexible: true, text("name")),
                Column("KEY", 23) { ($0["key_prefix"]?.stringValue ?? "") + "_…" },
                Column("TYPE", 10, text("key_type")),
                Column("STATUS", 7) { row in
                    row["pending_authorization"]?.boolValue == true
                        ? "pending" : row["active"]?.boolValue == true ? "active" : "revoked"
                },
                Column("EXPIRES", 10) { row in row["expires_at"]?.stringValue.map { String($0.prefix(10)) } ?? "never"
                },
            ]
        case .audit:
            [
                Column("TIME", 16, time("created_at")), Column("ACTION", 24, text("action")),
                Column("RESOURCE", 12, text("resource_type")), Column("ACTOR", 14, flexible: true, text("actor")),
            ]
        case .logs:
            // Drawn by `LogView` from the entries; the titles and widths live here so resizing works the same way.
            [
                Column("TIME", 8, text("")), Column("METHOD", 7, text("")), Column("ST", 3, text("")),
                Column("MS", 5, text("")), Column("ROUTE", 14, text("")), Column("PATH", 10, flexible: true, text("")),
                Column("CLIENT", 15, text("")), Column("ERROR", 18, text("")),
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
