/// Everything a key can do outside text input.
public enum Action: Sendable, Equatable {
    case quit, help, command, filter, back, open
    case nextPane, previousPane, pane(Pane), toggleMode
    case up, down, pageUp, pageDown, top, bottom
    case new, edit, delete, refresh
    case setValue, overrideEnvironment, assignClient, approveRequest, denyRequest
    case follow, cycleStatus, cycleMethod, cycleRoute, clearFilters
    case focusColumn(Int), resizeColumn(Int), resetColumns
}

/// Where a binding applies.
public enum BindingScope: Sendable, Equatable {
    /// Every list pane.
    case lists
    /// One pane's list.
    case pane(Pane)
    /// A detail page (of a given pane, or any when nil).
    case detail(Pane?)
}

/// One key binding: the single table that drives both dispatch and the help screen (and the hint line).
public struct Binding: Sendable {
    public let keys: [Key]
    /// How the key is written on screen (`j/k`, `ctrl-s`).
    public let keyLabel: String
    /// Short label for the hint line.
    public let hint: String
    public let description: String
    public let action: Action
    public let scope: BindingScope
    public let showInHints: Bool
    /// False for the second half of a pair the help shows on one line (`[ ]`, `< >`).
    public let showInHelp: Bool

    init(
        _ keys: [Key], _ keyLabel: String, _ hint: String, _ description: String, _ action: Action,
        _ scope: BindingScope,
        hints: Bool = true, help: Bool = true
    ) {
        self.keys = keys
        self.keyLabel = keyLabel
        self.hint = hint
        self.description = description
        self.action = action
        self.scope = scope
        showInHints = hints
        showInHelp = help
    }
}

public enum KeyTable {
    public static let bindings: [Binding] = [
        Binding([.char("?")], "?", "help", "Show this help", .help, .lists),
        Binding(
            [.char(":")], ":", "command", "Command line (:routes, :logs, :test, :live, :theme NAME, :q)", .command,
            .lists),
        Binding([.char("/")], "/", "filter", "Filter the list as you type", .filter, .lists),
        Binding([.char("t")], "t", "live/test", "Switch between Live and Test", .toggleMode, .lists),
        Binding([.tab], "tab", "next", "Next pane", .nextPane, .lists, hints: false),
        Binding([.backTab], "shift-tab", "previous", "Previous pane", .previousPane, .lists, hints: false),
        Binding([.down, .char("j")], "↓/j", "down", "Move down", .down, .lists, hints: false),
        Binding([.up, .char("k")], "↑/k", "up", "Move up", .up, .lists, hints: false),
        Binding([.pageDown, .ctrl("f")], "pgdn", "page down", "Page down", .pageDown, .lists, hints: false),
        Binding([.pageUp, .ctrl("b")], "pgup", "page up", "Page up", .pageUp, .lists, hints: false),
        Binding([.home, .char("g")], "g", "top", "First row", .top, .lists, hints: false),
        Binding([.end, .char("G")], "G", "bottom", "Last row (in Logs: follow again)", .bottom, .lists, hints: false),
        Binding([.enter], "enter", "open", "Open the selected row", .open, .lists),
        Binding([.char("r"), .ctrl("r")], "r", "refresh", "Reload the pane", .refresh, .lists, hints: false),
        Binding([.escape], "esc", "back", "Back / clear the filter", .back, .lists, hints: false),
        Binding(
            [.char("]")], "[ ]", "column", "Choose the column to resize (previous / next)", .focusColumn(1), .lists,
            hints: false),
        Binding([.char("[")], "[", "column", "Previous column", .focusColumn(-1), .lists, hints: false, help: false),
        Binding(
            [.char(">")], "< >", "width", "Narrow / widen the chosen column (remembered)", .resizeColumn(2), .lists,
            hints: false),
        Binding([.char("<")], "<", "narrow", "Narrow the column", .resizeColumn(-2), .lists, hints: false, help: false),
        Binding(
            [.char("=")], "=", "reset widths", "Reset this pane's column widths", .resetColumns, .lists, hints: false),
        Binding([.char("q"), .ctrl("c")], "q", "quit", "Quit (asks first if a form has unsaved edits)", .quit, .lists),

        Binding([.char("n")], "n", "new", "New route", .new, .pane(.routes)),
        Binding([.char("e")], "e", "edit", "Edit the route", .edit, .pane(.routes)),
        Binding([.char("d")], "d", "delete", "Delete the route", .delete, .pane(.routes)),
        Binding([.char("o")], "o", "override", "Set an environment override", .overrideEnvironment, .pane(.routes)),
        Binding([.char("a")], "a", "assign", "Assign a client to the route", .assignClient, .pane(.routes)),
        Binding([.char("n")], "n", "new", "New secret (value typed masked)", .new, .pane(.secrets)),
        Binding([.char("v")], "v", "set value", "Set the secret's value (masked)", .setValue, .pane(.secrets)),
        Binding([.char("d")], "d", "delete", "Delete the secret", .delete, .pane(.secrets)),
        Binding([.char("n")], "n", "new", "New client", .new, .pane(.clients)),
        Binding([.char("e")], "e", "edit", "Edit the client", .edit, .pane(.clients)),
        Binding([.char("d")], "d", "delete", "Delete the client", .delete, .pane(.clients)),
        Binding([.char("n")], "n", "new", "New environment", .new, .pane(.environments)),
        Binding([.char("e")], "e", "edit", "Edit the environment", .edit, .pane(.environments)),
        Binding([.char("d")], "d", "delete", "Delete the environment", .delete, .pane(.environments)),
        Binding([.char("n")], "n", "new", "New API key (shown once)", .new, .pane(.apiKeys)),
        Binding([.char("d")], "d", "revoke", "Revoke the API key", .delete, .pane(.apiKeys)),
        Binding(
            [.char("A")], "A", "approve", "Approve the selected OAuth authorization request (STATUS pending)",
            .approveRequest, .pane(.apiKeys)),
        Binding(
            [.char("X")], "X", "deny", "Deny the selected OAuth authorization request", .denyRequest, .pane(.apiKeys)),
        Binding([.char("f")], "f", "follow", "Follow new requests / pause", .follow, .pane(.logs)),
        Binding([.char("s")], "s", "status", "Filter by status class (2xx…5xx)", .cycleStatus, .pane(.logs)),
        Binding([.char("m")], "m", "method", "Filter by method", .cycleMethod, .pane(.logs)),
        Binding([.char("R")], "R", "route", "Filter by route", .cycleRoute, .pane(.logs)),
        Binding([.char("x")], "x", "clear", "Clear the log filters", .clearFilters, .pane(.logs)),
    ]

    /// The action for `key` in `pane`'s list: the pane's own bindings first, then the global ones.
    public static func action(for key: Key, pane: Pane) -> Action? {
        if let digit = number(key), let target = Pane(rawValue: digit) { return .pane(target) }
        if let b = bindings.first(where: { $0.scope == .pane(pane) && $0.keys.contains(key) }) { return b.action }
        return bindings.first { $0.scope == .lists && $0.keys.contains(key) }?.action
    }

    static func number(_ key: Key) -> Int? {
        if case .char(let c) = key, let v = c.wholeNumberValue, (1...7).contains(v) { return v }
        return nil
    }

    /// The bindings the hint line shows for `pane`: the pane's own, then help, quit and the mode switch (so they
    /// survive on a narrow terminal), then the rest.
    public static func hints(for pane: Pane) -> [Binding] {
        let first: [Action] = [.help, .quit, .toggleMode]
        let globals = bindings.filter { $0.showInHints && $0.scope == .lists }
        return bindings.filter { $0.showInHints && $0.scope == .pane(pane) }
            + first.compactMap { action in globals.first { $0.action == action } }
            + globals.filter { !first.contains($0.action) }
    }

    /// The help screen's contents, section by section, generated from `bindings` (plus the pane numbers and the
    /// keys of forms, which are handled by the form editor).
    public static func helpSections() -> [(title: String?, keys: [(key: String, description: String)])] {
        var sections: [(title: String?, keys: [(key: String, description: String)])] = [
            (nil, [("1-7", "Open a pane: " + Pane.allCases.map { "\($0.rawValue) \($0.tab)" }.joined(separator: ", "))])
        ]
        for binding in bindings where binding.showInHelp {
            let name: String
            switch binding.scope {
            case .lists: name = "Everywhere"
            case .pane(let p): name = p.title
            case .detail: name = "Details"
            }
            if sections.last?.title != name { sections.append((name, [])) }
            sections[sections.count - 1].keys.append((binding.keyLabel, binding.description))
        }
        sections.append(
            (
                "Forms",
                [
                    ("tab/↓ shift-tab/↑", "Next / previous field (Tab completes {{secret:…}})"),
                    ("←/→ space", "Change a choice or a switch"), ("enter", "Next field; new line in a text area"),
                    ("ctrl-s", "Save"), ("ctrl-u", "Clear the field"), ("esc", "Cancel (asks when there are changes)"),
                ]
            ))
        return sections
    }

    /// The key table as Markdown, for the README (a test keeps the README's copy equal to this).
    public static var markdown: String {
        var out = "| where | key | does |\n|---|---|---|\n"
        for section in helpSections() {
            for (i, entry) in section.keys.enumerated() {
                let key = entry.key.replacingOccurrences(of: "|", with: "\\|")
                let does = entry.description.replacingOccurrences(of: "|", with: "\\|")
                out += "| \(i == 0 ? section.title ?? "Panes" : "") | `\(key)` | \(does) |\n"
            }
        }
        return out
    }
}
