import KnoxCore

extension Console {
    // MARK: - Command line

    /// Every `:` command, for completion.
    static var commands: [String] {
        Pane.allCases.flatMap(\.commands) + ["live", "test", "help", "quit", "q"]
            + Theme.builtinNames.map { "theme \($0)" }
    }

    static func commandKey(_ s: inout ConsoleState, _ key: Key) -> [ConsoleEffect] {
        guard var text = s.command else { return [] }
        switch key {
        case .escape:
            s.command = nil
            return []
        case .backspace:
            if text.isEmpty { s.command = nil } else { text.removeLast(); s.command = text }
            return []
        case .tab:
            if let match = commands.first(where: { $0.hasPrefix(text) && $0 != text }) { s.command = match }
            return []
        case .char(let c):
            s.command = text + String(c)
            return []
        case .enter:
            s.command = nil
            return runCommand(&s, text.trimmingASCIIWhitespace())
        default:
            return []
        }
    }

    static func runCommand(_ s: inout ConsoleState, _ text: String) -> [ConsoleEffect] {
        let words = text.split(separator: " ").map(String.init)
        guard let first = words.first else { return [] }
        if let pane = Pane.allCases.first(where: { $0.commands.contains(first) }) { return switchPane(&s, pane) }
        switch first {
        case "live": return switchMode(&s, .live)
        case "test": return switchMode(&s, .test)
        case "help", "h": s.stack.append(.help(scroll: 0))
        case "q", "quit", "q!": return requestQuit(&s)
        case "theme":
            guard words.count == 2 else {
                s.toast = Toast("Usage: :theme \(Theme.builtinNames.joined(separator: "|"))", .error)
                return []
            }
            s.themeName = words[1]
            return [.savePreferences]
        default:
            s.toast = Toast("Unknown command :\(first.prefix(30)) — try :routes, :logs, :live, :test, :help", .error)
        }
        return []
    }

    // MARK: - Filter

    static func filterKey(_ s: inout ConsoleState, _ key: Key) -> [ConsoleEffect] {
        func edit(_ change: (inout String) -> Void) {
            if s.pane == .logs {
                change(&s.log.text)
            } else {
                s.updateList(s.pane) { change(&$0.filter) }
            }
            clampSelection(&s)
        }
        switch key {
        case .char(let c): edit { $0.append(c) }
        case .backspace: edit { if !$0.isEmpty { $0.removeLast() } }
        case .enter, .down, .up: s.editingFilter = false
        case .escape:
            edit { $0 = "" }
            s.editingFilter = false
        default: break
        }
        return []
    }

    // MARK: - Detail, confirmation, reveal

    static func open(_ s: inout ConsoleState) -> [ConsoleEffect] {
        if s.pane == .logs {
            guard s.log.selection >= 0 && s.log.selection < s.log.visibleCount else { return [] }
            let entry = s.log.visibleRow(s.log.selection)
            s.stack.append(
                .detail(
                    DetailPage(
                        pane: .logs, id: entry.requestId, title: "\(entry.method) \(entry.path)",
                        lines: Details.logLines(entry, routeName: s.routeNames[s.mode]?[entry.routeId ?? ""]),
                        row: nil)))
            return []
        }
        guard let row = selected(s) else { return [] }
        s.stack.append(
            .detail(
                DetailPage(pane: s.pane, id: row.id, title: row.title, lines: Details.lines(s.pane, row.wire), row: row)
            ))
        return [.loadDetail(s.mode, s.pane, id: row.id)]
    }

    static func detailKey(_ s: inout ConsoleState, _ page: inout DetailPage, _ key: Key) -> [ConsoleEffect] {
        switch key {
        case .escape, .char("q"), .backspace:
            s.stack.removeLast()
        case .down, .char("j"):
            page.scroll += 1
            s.stack[s.stack.count - 1] = .detail(page)
        case .up, .char("k"):
            page.scroll = max(0, page.scroll - 1)
            s.stack[s.stack.count - 1] = .detail(page)
        default:
            guard let action = KeyTable.action(for: key, pane: page.pane) else { return [] }
            switch action {
            case .edit, .delete, .setValue, .overrideEnvironment, .assignClient: return edit(&s, action, row: page.row)
            case .toggleMode: return switchMode(&s, s.mode.other)
            case .quit: return requestQuit(&s)
            default: break
            }
        }
        return []
    }

    static func confirmKey(_ s: inout ConsoleState, _ confirm: inout ConfirmState, _ key: Key) -> [ConsoleEffect] {
        func close() { s.stack.removeLast() }
        if confirm.action == nil && !confirm.quits {
            // "Discard changes?" over a form.
            switch key {
            case .char("y"), .char("Y"):
                s.stack.removeLast()
                if case .form? = s.stack.last { s.stack.removeLast() }
            case .char("n"), .char("N"), .escape: close()
            default: break
            }
            return []
        }
        if confirm.quits {
            switch key {
            case .char("y"), .char("Y"):
                s.quitting = true
                return [.savePreferences, .quit]
            case .char("n"), .char("N"), .escape: close()
            default: break
            }
            return []
        }
        switch key {
        case .escape:
            close()
            return []
        case .enter:
            guard confirm.satisfied, let action = confirm.action else {
                if !confirm.satisfied { s.toast = Toast("Type the name exactly to confirm", .error, ticks: 20) }
                return []
            }
            close()
            return [.mutate(s.mode, action)]
        case .char(let c) where confirm.typeToConfirm != nil:
            confirm.typed.append(c)
        case .char("y") where confirm.typeToConfirm == nil, .char("Y") where confirm.typeToConfirm == nil:
            guard let action = confirm.action else { return [] }
            close()
            return [.mutate(s.mode, action)]
        case .char("n") where confirm.typeToConfirm == nil:
            close()
            return []
        case .backspace:
            if !confirm.typed.isEmpty { confirm.typed.removeLast() }
        default:
            break
        }
        s.stack[s.stack.count - 1] = .confirm(confirm)
        return []
    }

    static func revealKey(_ s: inout ConsoleState, _ reveal: inout RevealState, _ key: Key) -> [ConsoleEffect] {
        switch key {
        case .char("c"), .char("y"):
            reveal.copied = true
            s.stack[s.stack.count - 1] = .reveal(reveal)
            return [.copy(reveal.key)]
        case .escape, .enter, .char("q"):
            // The key leaves the state for good.
            s.stack.removeLast()
            return []
        default:
            return []
        }
    }

    // MARK: - Editing

    static func edit(_ s: inout ConsoleState, _ action: Action, row: PaneRow? = nil) -> [ConsoleEffect] {
        let context = s.formContext
        let current = row ?? selected(s)
        let id = current?.id
        let name = current?.name ?? id ?? ""
        func form(_ kind: FormKind, _ row: PaneRow? = nil) {
            s.stack.append(.form(FormState.make(kind, row: row?.wire, context: context)))
        }
        switch (s.pane, action) {
        case (.routes, .new): form(.route(id: nil))
        case (.routes, .edit): if let id { form(.route(id: id), current) }
        case (.routes, .overrideEnvironment): if let id { form(.routeEnvironment(routeId: id)) }
        case (.routes, .assignClient):
            guard let id else { return [] }
            guard !context.clients.isEmpty else {
                s.toast = Toast("No clients yet: create one in 3 Clients first", .error)
                return []
            }
            form(.assignClient(routeId: id))
        case (.secrets, .new): form(.secret)
        case (.secrets, .setValue): if let id { form(.secretValue(id: id, name: name)) }
        case (.clients, .new): form(.client(id: nil))
        case (.clients, .edit): if let id { form(.client(id: id), current) }
        case (.environments, .new): form(.environment(id: nil))
        case (.environments, .edit): if let id { form(.environment(id: id), current) }
        case (.apiKeys, .new): form(.apiKey)
        case (.apiKeys, .approveRequest), (.apiKeys, .denyRequest):
            guard let id, current?.isPendingAuthorization == true else {
                s.toast = Toast("Select an OAuth authorization request (STATUS pending) first", .error)
                return []
            }
            return [.mutate(s.mode, .decideAuthorization(id: id, approve: action == .approveRequest))]
        case (_, .delete):
            guard let id, s.pane != .logs, s.pane != .audit else { return [] }
            if current?.isPendingAuthorization == true {
                s.toast = Toast("That is an authorization request: A approves it, X denies it", .error)
                return []
            }
            let verb = s.pane == .apiKeys ? "Revoke" : "Delete"
            let noun =
                s.pane.title.lowercased().hasSuffix("s")
                ? String(s.pane.title.lowercased().dropLast()) : s.pane.title.lowercased()
            let live = s.mode == .live
            s.stack.append(
                .confirm(
                    ConfirmState(
                        title: "\(live ? "[LIVE] " : "[TEST] ")\(verb) \(noun) \(name)",
                        message: live
                            ? "This changes production. Type the name (\(name)) and press Enter; Esc cancels."
                            : "\(verb) \(noun) \(name)? y/Enter to confirm, n/Esc to cancel.",
                        typeToConfirm: live ? name : nil, action: .delete(s.pane, id: id))))
        default:
            break
        }
        return []
    }

    // MARK: - Results

    static func mutated(
        _ s: inout ConsoleState, mode: Mode, _ mutation: ConsoleEffect.Mutation,
        _ result: Result<ChangeOutcome, ConsoleFailure>
    ) -> [ConsoleEffect] {
        let pane: Pane
        switch mutation {
        case .create(let p, _), .update(let p, _, _), .delete(let p, _): pane = p
        case .setSecretValue: pane = .secrets
        case .putRouteEnvironment, .assignClient: pane = .routes
        case .decideAuthorization: pane = .apiKeys
        }
        switch result {
        case .success(let outcome):
            if case .form? = s.stack.last { s.stack.removeLast() }
            if case .detail(let page)? = s.stack.last, case .delete = mutation, page.pane == pane {
                s.stack.removeLast()
            }
            if case .newKey(let name, let key) = outcome {
                s.stack.append(.reveal(RevealState(name: name, key: key)))
            } else {
                s.toast = Toast(successMessage(mutation, outcome), .success)
            }
            var effects: [ConsoleEffect] = [.load(mode, pane)]
            if pane == .routes || pane == .clients { effects.append(.load(mode, pane == .routes ? .clients : .routes)) }
            if case .detail(let page)? = s.stack.last { effects.append(.loadDetail(mode, page.pane, id: page.id)) }
            return effects
        case .failure(let failure):
            if case .form(var form)? = s.stack.last {
                form.submitting = false
                if let field = form.fieldName(for: failure.field) {
                    form.errors = [field: failure.message]
                    form.generalError = nil
                    form.focus = form.fields.firstIndex { $0.name == field } ?? form.focus
                } else {
                    form.errors = [:]
                    form.generalError = failure.message
                }
                s.stack[s.stack.count - 1] = .form(form)
            } else {
                s.toast = Toast(failure.message, .error, ticks: 60)
            }
            return []
        }
    }

    static func successMessage(_ mutation: ConsoleEffect.Mutation, _ outcome: ChangeOutcome) -> String {
        switch (mutation, outcome) {
        case (.create(let pane, _), .saved(let name)): return "Created \(pane.title.lowercased().dropLast()) \(name)"
        case (.update(let pane, _, _), .saved(let name)): return "Saved \(pane.title.lowercased().dropLast()) \(name)"
        case (.delete(let pane, _), _): return pane == .apiKeys ? "Revoked the key" : "Deleted"
        case (_, .valueStored(let secret, let version)): return "Stored the new value \(secret) (version \(version))"
        case (_, .overrideSaved(let environment)): return "Saved the override for \(environment)"
        case (_, .assigned(let client)): return "Assigned \(client ?? "the client")"
        case (.decideAuthorization(_, let approve), _):
            return approve ? "Approved: the application receives its code" : "Denied the authorization request"
        default: return "Done"
        }
    }

    // MARK: - Logs

    static func appendLogs(_ s: inout ConsoleState, mode: Mode, _ rows: [RequestLogEntry]) {
        // In place: copying the log out of the dictionary would copy every kept row on each batch.
        guard s.logs[mode, default: LogState()].append(rows) else { return }
        if mode == s.mode && s.pane == .logs && s.log.follow { move(&s, to: Int.max / 2) }
    }
}
