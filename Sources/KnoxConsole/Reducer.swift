import KnoxCore

/// The console's logic: a pure function from the state and one event to the next state and what to do next.
public enum Console {
    public static func reduce(_ state: ConsoleState, _ event: ConsoleEvent) -> (ConsoleState, [ConsoleEffect]) {
        var s = state
        let effects = apply(&s, event)
        return (s, effects)
    }

    static func apply(_ s: inout ConsoleState, _ event: ConsoleEvent) -> [ConsoleEffect] {
        switch event {
        case .key(let key): return handleKey(&s, key)
        case .mouse(let action): return handleMouse(&s, action)
        case .resize(let w, let h):
            s.width = w
            s.height = h
            clampSelection(&s)
            return []
        case .loaded(let mode, let pane, let result):
            var list = s.lists[mode]?[pane] ?? ListState()
            switch result {
            case .success(let rows):
                list.rows = rows
                list.error = nil
            case .failure(let f):
                list.error = f.message
            }
            list.loaded = true
            s.lists[mode, default: [:]][pane] = list
            if mode == s.mode { clampSelection(&s) }
            return []
        case .detailLoaded(let mode, let pane, let id, let row):
            guard mode == s.mode, case .detail(var page)? = s.stack.last, page.pane == pane, page.id == id else {
                return []
            }
            page.lines = Details.lines(pane, row.wire)
            page.row = row
            s.stack[s.stack.count - 1] = .detail(page)
            return []
        case .logRows(let mode, let rows):
            appendLogs(&s, mode: mode, rows)
            return []
        case .stats(let mode, let stats):
            s.stats[mode] = stats
            return []
        case .context(let mode, let context, let names):
            s.context[mode] = context
            s.routeNames[mode] = names
            s.logs[mode, default: LogState()].routeNames = names
            return []
        case .mutated(let mode, let mutation, let result):
            return mutated(&s, mode: mode, mutation, result)
        case .tick:
            if var toast = s.toast {
                toast.ticksLeft -= 1
                s.toast = toast.ticksLeft > 0 ? toast : nil
            }
            return []
        }
    }

    // MARK: - Keys

    static func handleKey(_ s: inout ConsoleState, _ key: Key) -> [ConsoleEffect] {
        // Ctrl-C quits from anywhere (asking first when a form has unsaved edits; a second Ctrl-C in that question
        // quits).
        if key == .ctrl("c") {
            if case .confirm(let c)? = s.stack.last, c.quits {
                s.quitting = true
                return [.savePreferences, .quit]
            }
            s.command = nil
            s.editingFilter = false
            return requestQuit(&s)
        }
        if s.command != nil { return commandKey(&s, key) }
        if let top = s.stack.last {
            switch top {
            case .form(var form):
                let effects = formKey(&s, &form, key)
                if case .form? = s.stack.last { s.stack[s.stack.count - 1] = .form(form) }
                return effects
            case .confirm(var confirm): return confirmKey(&s, &confirm, key)
            case .reveal(var reveal): return revealKey(&s, &reveal, key)
            case .help(let scroll):
                switch key {
                case .escape, .char("q"), .char("?"), .enter: s.stack.removeLast()
                case .down, .char("j"): s.stack[s.stack.count - 1] = .help(scroll: scroll + 1)
                case .up, .char("k"): s.stack[s.stack.count - 1] = .help(scroll: max(0, scroll - 1))
                default: break
                }
                return []
            case .detail(var page): return detailKey(&s, &page, key)
            }
        }
        if s.editingFilter { return filterKey(&s, key) }
        guard let action = KeyTable.action(for: key, pane: s.pane) else { return [] }
        return perform(&s, action)
    }

    static func perform(_ s: inout ConsoleState, _ action: Action) -> [ConsoleEffect] {
        switch action {
        case .quit: return requestQuit(&s)
        case .help: s.stack.append(.help(scroll: 0))
        case .command: s.command = ""
        case .filter: s.editingFilter = true
        case .back:
            if s.pane == .logs {
                s.log.text = ""
            } else {
                s.updateList(s.pane) { $0.filter = "" }
            }
        case .open: return open(&s)
        case .nextPane: return switchPane(&s, Pane(rawValue: s.pane.rawValue % Pane.allCases.count + 1) ?? .routes)
        case .previousPane:
            return switchPane(
                &s, Pane(rawValue: (s.pane.rawValue + Pane.allCases.count - 2) % Pane.allCases.count + 1) ?? .routes)
        case .pane(let p): return switchPane(&s, p)
        case .toggleMode: return switchMode(&s, s.mode.other)
        case .up: move(&s, by: -1)
        case .down: move(&s, by: 1)
        case .pageUp: move(&s, by: -s.listHeight)
        case .pageDown: move(&s, by: s.listHeight)
        case .top: move(&s, to: 0)
        case .bottom:
            if s.pane == .logs {
                s.log.follow = true
                s.log.newWhilePaused = 0
            }
            move(&s, to: Int.max / 2)
        case .refresh: return [.load(s.mode, s.pane)]
        case .new, .edit, .delete, .setValue, .overrideEnvironment, .assignClient, .approveRequest, .denyRequest:
            return edit(&s, action)
        case .follow:
            s.log.follow.toggle()
            if s.log.follow {
                s.log.newWhilePaused = 0
                move(&s, to: Int.max / 2)
            }
        case .cycleStatus:
            let classes: [Int?] = [nil, 2, 3, 4, 5]
            let i = classes.firstIndex { $0 == s.log.statusClass } ?? 0
            s.log.statusClass = classes[(i + 1) % classes.count]
            clampSelection(&s)
        case .cycleMethod:
            let methods: [String?] = [nil] + HTTPMethodName.all.map { Optional($0) }
            let i = methods.firstIndex { $0 == s.log.method } ?? 0
            s.log.method = methods[(i + 1) % methods.count]
            clampSelection(&s)
        case .cycleRoute:
            let ids: [String?] =
                [nil] + (s.routeNames[s.mode] ?? [:]).sorted { $0.value < $1.value }.map { Optional($0.key) }
            let i = ids.firstIndex { $0 == s.log.routeId } ?? 0
            s.log.routeId = ids[(i + 1) % ids.count]
            clampSelection(&s)
        case .focusColumn(let step):
            let count = Columns.shown(s.pane, width: s.width).count
            let current = s.columnFocus[s.pane] ?? (step > 0 ? -1 : count)
            s.columnFocus[s.pane] = (current + step + count) % count
        case .resizeColumn(let delta):
            let columns = Columns.shown(s.pane, width: s.width)
            let index = s.columnFocus[s.pane] ?? 0
            s.columnFocus[s.pane] = index
            let widths = Column.layout(columns, total: s.width - 2, custom: Columns.custom(s, s.pane))
            let key = Columns.key(s.pane, columns[index].title)
            let width = min(Column.widthRange.upperBound, max(Column.widthRange.lowerBound, widths[index] + delta))
            s.columnWidths[key] = width
            s.toast = Toast("\(columns[index].title): \(width) columns (= resets)", .info, ticks: 15)
            return [.savePreferences]
        case .resetColumns:
            let prefix = s.pane.commands[0] + "."
            s.columnWidths = s.columnWidths.filter { !$0.key.hasPrefix(prefix) }
            s.columnFocus[s.pane] = nil
            return [.savePreferences]
        case .clearFilters:
            s.log.statusClass = nil
            s.log.method = nil
            s.log.routeId = nil
            s.log.text = ""
            clampSelection(&s)
        }
        return []
    }

    static func requestQuit(_ s: inout ConsoleState) -> [ConsoleEffect] {
        if s.hasUnsavedForm {
            s.stack.append(
                .confirm(
                    ConfirmState(
                        title: "Quit?", message: "A form has unsaved changes. Quit anyway? (y/n)", action: nil,
                        quits: true)))
            return []
        }
        s.quitting = true
        return [.savePreferences, .quit]
    }

    static func switchPane(_ s: inout ConsoleState, _ pane: Pane) -> [ConsoleEffect] {
        s.pane = pane
        s.editingFilter = false
        if pane == .logs {
            // Rows that came while another pane was shown: a following log jumps to the newest.
            clampSelection(&s)
            return []
        }
        return [.load(s.mode, pane)]
    }

    static func switchMode(_ s: inout ConsoleState, _ mode: Mode) -> [ConsoleEffect] {
        guard mode != s.mode else { return [] }
        s.mode = mode
        s.stack = []
        clampSelection(&s)
        s.editingFilter = false
        s.toast = Toast(mode == .test ? "Test mode: sandbox data" : "Live mode: production data", .info, ticks: 25)
        var effects: [ConsoleEffect] = [.savePreferences]
        if s.pane != .logs { effects.append(.load(mode, s.pane)) }
        return effects
    }

    // MARK: - Selection

    static func rowCount(_ s: ConsoleState) -> Int {
        s.pane == .logs
            ? s.log.visibleCount : s.list(s.pane).visible(s.pane).count
    }

    static func move(_ s: inout ConsoleState, by delta: Int) {
        let current = s.pane == .logs ? s.log.selection : s.list(s.pane).selection
        move(&s, to: current + delta)
        if s.pane == .logs && delta < 0 { s.log.follow = false }
    }

    static func move(_ s: inout ConsoleState, to index: Int) {
        let count = rowCount(s)
        let target = max(0, min(count - 1, index))
        let height = s.listHeight
        func scroll(_ current: Int) -> Int {
            if target < current { return target }
            if target >= current + height { return target - height + 1 }
            return current
        }
        if s.pane == .logs {
            s.log.selection = target
            s.log.scroll = max(0, scroll(s.log.scroll))
            if target < count - 1 { s.log.follow = false }
        } else {
            s.updateList(s.pane) {
                $0.selection = target
                $0.scroll = max(0, scroll($0.scroll))
            }
        }
    }

    static func clampSelection(_ s: inout ConsoleState) {
        if s.pane == .logs {
            move(&s, to: s.log.follow ? Int.max / 2 : s.log.selection)
        } else {
            move(&s, to: s.list(s.pane).selection)
        }
    }

    /// The selected row of the current list pane.
    static func selected(_ s: ConsoleState) -> PaneRow? {
        let rows = s.list(s.pane).visible(s.pane)
        let i = s.list(s.pane).selection
        return rows.indices.contains(i) ? rows[i] : nil
    }

    // MARK: - Mouse

    static func handleMouse(_ s: inout ConsoleState, _ action: MouseAction) -> [ConsoleEffect] {
        guard s.stack.isEmpty, s.command == nil else { return [] }
        switch action {
        case .wheelUp: move(&s, by: -3)
        case .wheelDown: move(&s, by: 3)
        case .click(let x, let y):
            if y == Layout.tabRow {
                if let pane = Layout.tab(at: x) { return switchPane(&s, pane) }
            } else if y >= Layout.firstRow, y < Layout.firstRow + s.listHeight {
                let scroll = s.pane == .logs ? s.log.scroll : s.list(s.pane).scroll
                move(&s, to: scroll + (y - Layout.firstRow))
            }
        }
        return []
    }
}
