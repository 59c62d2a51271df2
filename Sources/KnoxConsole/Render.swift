import KnoxCore

extension Console {
    /// Draws the whole screen for `state` at `width`×`height`. Pure: the same state always gives the same grid.
    public static func render(_ s: ConsoleState, width: Int, height: Int) -> Grid {
        var g = Grid(width: width, height: height)
        guard width >= Layout.minWidth, height >= Layout.minHeight else {
            tooSmall(&g)
            return g
        }
        header(&g, s)
        banner(&g, s)
        tabs(&g, s)
        if let top = s.stack.last {
            switch top {
            case .detail(let page): detail(&g, s, page)
            case .form(let form): FormView.draw(&g, s, form)
            case .help(let scroll): help(&g, s, scroll)
            case .confirm(let confirm):
                underlay(&g, s)
                dialog(&g, title: confirm.title, lines: confirmLines(confirm))
            case .reveal(let reveal):
                underlay(&g, s)
                dialog(&g, title: "API key \(reveal.name) — shown only once", lines: revealLines(reveal))
            }
        } else if s.pane == .logs {
            LogView.draw(&g, s)
        } else {
            list(&g, s)
        }
        footer(&g, s)
        return g
    }

    static func tooSmall(_ g: inout Grid) {
        let lines = ["Terminal too small", "have \(g.width)×\(g.height), need \(Layout.minWidth)×\(Layout.minHeight)"]
        for (i, line) in lines.enumerated() {
            let y = g.height / 2 - 1 + i
            g.put(line, x: max(0, (g.width - TextWidth.of(line)) / 2), y: y, role: i == 0 ? .warning : .muted)
        }
    }

    static func header(_ g: inout Grid, _ s: ConsoleState) {
        g.fill(row: Layout.headerRow, role: .header)
        var x = g.put(" KnoxCall ", x: 0, y: 0, role: .brand)
        x += g.put(
            s.mode == .live ? " ● LIVE " : " ▲ TEST ", x: x, y: 0, role: s.mode == .live ? .liveBadge : .testBadge)
        let stats = s.stats[s.mode] ?? HeaderStats()
        let right =
            String(format: " %.0f req/s  err %.1f%% ", stats.requestsPerSecond, stats.errorRate * 100)
            + (stats.dropped > 0 ? " dropped \(stats.dropped) " : "")
        let room = g.width - x - TextWidth.of(right)
        // Full addresses when they fit; loopback hosts shortened to `:port` when they do not.
        func addresses(short: Bool) -> String {
            func show(_ address: String?) -> String {
                guard let address else { return "off" }
                return short && address.hasPrefix("127.0.0.1:") ? String(address.dropFirst(9)) : address
            }
            return "  \(s.environment.dataDirectory)  api \(show(s.environment.apiAddress[s.mode]))"
                + "  proxy \(show(s.environment.proxyAddress[s.mode]))"
        }
        let full = addresses(short: false)
        let middle = TextWidth.of(full) <= room ? full : addresses(short: true)
        g.put(TextWidth.clip(middle, to: room), x: x, y: 0, role: .header)
        g.put(right, x: g.width - TextWidth.of(right), y: 0, role: stats.errorRate > 0.05 ? .warning : .header)
    }

    static func banner(_ g: inout Grid, _ s: ConsoleState) {
        let y = Layout.bannerRow
        if s.mode == .test {
            g.fill(row: y, role: .testBanner)
            let text = "▲ TEST MODE · sandbox data · nothing here touches production ▲"
            g.put(text, x: max(0, (g.width - TextWidth.of(text)) / 2), y: y, role: .testBanner)
        } else {
            g.fill(row: y, role: .liveRule)
            g.put(" ■ LIVE · production data · changes apply to real traffic at once", x: 0, y: y, role: .liveRule)
        }
    }

    static func tabs(_ g: inout Grid, _ s: ConsoleState) {
        g.fill(row: Layout.tabRow, role: .tab)
        for tab in Layout.tabs {
            g.put(tab.label, x: tab.x, y: Layout.tabRow, role: tab.pane == s.pane ? .tabActive : .tab)
        }
    }

    static func list(_ g: inout Grid, _ s: ConsoleState) {
        let state = s.list(s.pane)
        let rows = state.visible(s.pane)
        var title = " \(s.pane.title) \(rows.count)"
        if rows.count != state.rows.count { title += " of \(state.rows.count)" }
        if !state.filter.isEmpty || s.editingFilter {
            title += " · filter: \(state.filter)\(s.editingFilter ? "▏" : "")"
        }
        if !state.loaded { title += " · loading…" }
        g.put(title, x: 0, y: Layout.titleRow, role: .paneTitle)
        if let error = state.error { g.put(" \(error)", x: TextWidth.of(title) + 1, y: Layout.titleRow, role: .error) }
        let columns = Columns.of(s.pane)
        let widths = Column.layout(columns, total: g.width - 2, custom: Columns.custom(s, s.pane))
        columnHeaders(&g, s, columns, widths)
        if rows.isEmpty && state.loaded {
            let empty = state.filter.isEmpty ? "Nothing here yet — press n to create one" : "No row matches the filter"
            g.put(empty, x: 2, y: Layout.firstRow + 1, role: .muted)
            return
        }
        for i in 0..<s.listHeight {
            let index = state.scroll + i
            guard index < rows.count else { break }
            let y = Layout.firstRow + i
            let role: StyleRole = index == state.selection ? .rowSelected : .row
            g.fill(row: y, role: role)
            var cx = 1
            for (column, width) in zip(columns, widths) {
                g.put(TextWidth.pad(column.value(rows[index]), to: width), x: cx, y: y, role: role)
                cx += width + 1
            }
        }
    }

    /// The column titles; the column being resized (`[` `]` `<` `>`) is marked.
    static func columnHeaders(_ g: inout Grid, _ s: ConsoleState, _ columns: [Column], _ widths: [Int]) {
        var x = 1
        let focus = s.columnFocus[s.pane]
        for (i, (column, width)) in zip(columns, widths).enumerated() {
            let focused = focus == i
            let title = focused ? "‹\(column.title)›" : column.title
            g.put(TextWidth.pad(title, to: width), x: x, y: Layout.columnRow, role: focused ? .match : .columnHeader)
            x += width + 1
        }
    }

    static func detail(_ g: inout Grid, _ s: ConsoleState, _ page: DetailPage) {
        g.put(" \(page.pane.title) › \(page.title)", x: 0, y: Layout.titleRow, role: .paneTitle)
        let labelWidth = min(28, max(12, page.lines.map { TextWidth.of($0.0) }.max() ?? 12))
        let height = g.height - Layout.columnRow - 1
        for (i, line) in page.lines.dropFirst(page.scroll).prefix(height).enumerated() {
            let y = Layout.columnRow + i
            g.put(TextWidth.pad(line.0, to: labelWidth), x: 1, y: y, role: .fieldLabel)
            g.put(line.1, x: labelWidth + 3, y: y, role: .normal, maxWidth: g.width - labelWidth - 4)
        }
    }

    static func help(_ g: inout Grid, _ s: ConsoleState, _ scroll: Int) {
        g.put(" Keys (Esc closes)", x: 0, y: Layout.titleRow, role: .paneTitle)
        var lines: [(String, String, StyleRole)] = []
        for section in KeyTable.helpSections() {
            if let title = section.title { lines.append(("", title, .columnHeader)) }
            lines += section.keys.map { ($0.key, $0.description, .normal) }
        }
        // Descriptions wrap under themselves on a narrow screen.
        let textWidth = g.width - 22
        let rows = lines.flatMap { line in
            TextWidth.wrap(line.1, to: textWidth).enumerated().map { i, part in (i == 0 ? line.0 : "", part, line.2) }
        }
        let visible = g.height - Layout.columnRow - 1
        for (i, line) in rows.dropFirst(min(scroll, max(0, rows.count - visible))).prefix(visible).enumerated() {
            let y = Layout.columnRow + i
            g.put(TextWidth.pad(line.0, to: 18), x: 2, y: y, role: .hintKey)
            g.put(line.1, x: 21, y: y, role: line.2, maxWidth: textWidth)
        }
    }

    /// The list behind a dialog.
    static func underlay(_ g: inout Grid, _ s: ConsoleState) {
        var behind = s
        behind.stack.removeLast()
        if case .detail(let page)? = behind.stack.last {
            detail(&g, behind, page)
        } else if behind.pane == .logs {
            LogView.draw(&g, behind)
        } else {
            list(&g, behind)
        }
    }

    static func dialog(_ g: inout Grid, title: String, lines: [(String, StyleRole)]) {
        let longest = lines.map { TextWidth.of($0.0) }.max() ?? 40
        let width = min(g.width - 8, max(50, longest + 4, TextWidth.of(title) + 6))
        // Long lines wrap inside the box.
        let wrapped = lines.flatMap { line in TextWidth.wrap(line.0, to: width - 4).map { ($0, line.1) } }
        let height = wrapped.count + 4
        let x0 = (g.width - width) / 2
        let y0 = max(Layout.titleRow, (g.height - height) / 2)
        for y in y0..<(y0 + height) { g.fill(row: y, from: x0, to: x0 + width, role: .dialog) }
        g.put(String(repeating: "─", count: width), x: x0, y: y0, role: .border)
        g.put(String(repeating: "─", count: width), x: x0, y: y0 + height - 1, role: .border)
        g.put(" \(title) ", x: x0 + 2, y: y0, role: .dialogTitle, maxWidth: width - 4)
        for (i, line) in wrapped.enumerated() {
            g.put(line.0, x: x0 + 2, y: y0 + 2 + i, role: line.1, maxWidth: width - 4)
        }
    }

    static func confirmLines(_ c: ConfirmState) -> [(String, StyleRole)] {
        var lines: [(String, StyleRole)] = [(c.message, .dialog)]
        if let name = c.typeToConfirm {
            lines.append(("", .dialog))
            lines.append(("Name: \(c.typed)▏", c.satisfied ? .success : .fieldFocused))
            lines.append((c.satisfied ? "Enter deletes \(name)" : "Type it exactly; Esc cancels", .muted))
        }
        return lines
    }

    static func revealLines(_ r: RevealState) -> [(String, StyleRole)] {
        [
            (r.key, .fieldFocused), ("", .dialog),
            ("Store it now: KnoxCall keeps only a hash and cannot show it again.", .dialog),
            (
                r.copied ? "Copied to the clipboard (OSC 52)." : "c copies it to the clipboard (OSC 52) · Enter closes",
                .muted
            ),
        ]
    }

    static func footer(_ g: inout Grid, _ s: ConsoleState) {
        let y = g.height - 1
        g.fill(row: y, role: .hint)
        if let command = s.command {
            let x = g.put(":\(command)▏", x: 0, y: y, role: .fieldFocused)
            if let match = commands.first(where: { $0.hasPrefix(command) && $0 != command }), !command.isEmpty {
                g.put("  tab → \(match)", x: x, y: y, role: .muted)
            }
            return
        }
        if let toast = s.toast {
            g.put(
                " " + toast.text, x: 0, y: y,
                role: toast.kind == .error ? .error : toast.kind == .success ? .success : .hint)
            return
        }
        var hints: [(String, String)]
        switch s.stack.last {
        case .form?: hints = [("ctrl-s", "save"), ("tab", "next field"), ("esc", "cancel")]
        case .confirm?, .reveal?: hints = [("enter", "confirm"), ("esc", "cancel")]
        case .help?: hints = [("esc", "close"), ("↑↓", "scroll")]
        case .detail(let page)?:
            hints =
                [("esc", "back")]
                + KeyTable.hints(for: page.pane).filter {
                    [.edit, .delete, .setValue, .overrideEnvironment, .assignClient].contains($0.action)
                }.map { ($0.keyLabel, $0.hint) }
        case nil:
            hints =
                s.editingFilter
                ? [("enter", "done"), ("esc", "clear")] : KeyTable.hints(for: s.pane).map { ($0.keyLabel, $0.hint) }
        }
        var x = 1
        for (key, label) in hints {
            let needed = TextWidth.of(key) + TextWidth.of(label) + 3
            if x + needed > g.width { break }
            x += g.put(key, x: x, y: y, role: .hintKey)
            x += g.put(" \(label)  ", x: x, y: y, role: .hint)
        }
    }
}
