import KnoxConsole
import KnoxCore
import Testing

@Suite struct NavigationTests {
    @Test func numberKeysTabAndCommandsSwitchPanes() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        #expect(d.press(.char("2")) == [.load(.live, .secrets)])
        #expect(d.state.pane == .secrets)
        d.press(.tab)
        #expect(d.state.pane == .clients)
        d.press(.backTab, .backTab)
        #expect(d.state.pane == .routes)
        d.press(.backTab)
        #expect(d.state.pane == .audit, "shift-tab wraps around")
        d.press(.char(":"))
        d.type("lo")
        #expect(d.screen().line(39).contains("tab → logs"), "the command line offers a completion")
        d.press(.tab)
        #expect(d.state.command == "logs")
        d.press(.enter)
        #expect(d.state.pane == .logs && d.state.command == nil)
        d.press(.char(":"))
        d.type("bogus")
        d.press(.enter)
        #expect(d.state.toast?.kind == .error)
        #expect(d.state.toast?.text.contains(":bogus") == true)
    }

    @Test func movementKeysAndPaging() {
        var s = Fixture.state(.live, pane: .routes, width: 80, height: 24)
        let many = Fixture.rows(
            .routes, (0..<60).map { i in json(#"{"id":"r\#(i)","name":"route \#(i)","slug":"r\#(i)"}"#) })
        s = Fixture.reduce(s, .loaded(.live, .routes, .success(many)))
        var d = Driver(s)
        d.press(.char("j"), .down)
        #expect(d.state.list(.routes).selection == 2)
        d.press(.char("k"))
        #expect(d.state.list(.routes).selection == 1)
        d.press(.pageDown)
        #expect(d.state.list(.routes).selection == 1 + d.state.listHeight)
        d.press(.char("G"))
        #expect(d.state.list(.routes).selection == 59)
        #expect(d.screen().contains("route 59"), "the last row is scrolled into view")
        #expect(!d.screen().contains("route 0 "))
        d.press(.char("g"))
        #expect(d.state.list(.routes).selection == 0 && d.state.list(.routes).scroll == 0)
        d.press(.up)
        #expect(d.state.list(.routes).selection == 0, "never moves above the first row")
    }

    @Test func filterNarrowsAsYouType() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        d.press(.char("/"))
        d.type("str")
        #expect(d.state.list(.routes).visible(.routes).count == 1)
        #expect(d.screen().contains("Stripe charges"))
        #expect(!d.screen().contains("GitHub API"))
        #expect(d.screen().contains("Routes 1 of 3 · filter: str"))
        d.press(.enter)
        #expect(d.state.editingFilter == false)
        d.press(.escape)
        #expect(d.state.list(.routes).filter.isEmpty)
        #expect(d.screen().contains("GitHub API"))
    }

    @Test func quitAsksOnlyWithUnsavedEdits() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 80, height: 24))
        #expect(d.press(.char("q")) == [.savePreferences, .quit])
        #expect(d.state.quitting == true)

        d = Driver(Fixture.state(.live, pane: .clients, width: 80, height: 24))
        d.press(.char("n"))
        d.press(.ctrl("c"))
        #expect(d.state.quitting == true, "an untouched form does not ask")

        d = Driver(Fixture.state(.live, pane: .clients, width: 80, height: 24))
        d.press(.char("n"))
        d.type("x")
        d.send(.key(.char("q")))
        #expect(d.state.quitting == false, "q types into the form")
        d.press(.ctrl("c"))
        #expect(d.state.quitting == false)
        #expect(d.screen().contains("unsaved changes"))
        d.press(.char("n"))
        #expect(d.state.quitting == false)
        #expect(d.state.hasUnsavedForm == true)
        d.press(.ctrl("c"), .char("y"))
        #expect(d.state.quitting == true)
        d = Driver(Fixture.state(.live, pane: .clients, width: 80, height: 24))
        d.press(.char("n"))
        d.type("x")
        d.press(.ctrl("c"), .ctrl("c"))
        #expect(d.state.quitting == true, "a second ctrl-c does not ask again")
    }

    @Test func helpIsGeneratedFromTheKeyTable() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        d.press(.char("?"))
        var seen = ""
        for _ in 0..<20 {
            seen += d.screen()
            d.press(.down)
        }
        for binding in KeyTable.bindings where binding.showInHelp {
            #expect(seen.contains(binding.description), "help lacks \(binding.keyLabel)")
        }
        // And dispatch uses the same table: every binding's keys reach its action.
        for binding in KeyTable.bindings {
            for key in binding.keys {
                let pane: Pane = if case .pane(let p) = binding.scope { p } else { .routes }
                let action = KeyTable.action(for: key, pane: pane)
                if binding.scope == .lists {
                    // A pane may give a global key its own meaning (none do today).
                    #expect(action == binding.action, "\(binding.keyLabel)")
                } else {
                    #expect(action == binding.action, "\(binding.keyLabel) in \(pane)")
                }
            }
        }
    }

    @Test func hintLineShowsThePanesKeys() {
        let routes = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40)).screen().line(39)
        #expect(routes.contains("n new") && routes.contains("o override") && routes.contains("a assign"))
        let logs = Driver(Fixture.state(.live, pane: .logs, width: 120, height: 40)).screen().line(39)
        #expect(logs.contains("f follow") && logs.contains("s status") && !logs.contains("n new"))
    }

    @Test func mouseClickSelectsWheelScrollsTabClickSwitches() {
        var s = Fixture.state(.live, pane: .routes, width: 80, height: 24)
        let many = Fixture.rows(.routes, (0..<40).map { i in json(#"{"id":"r\#(i)","name":"route \#(i)"}"#) })
        s = Fixture.reduce(s, .loaded(.live, .routes, .success(many)))
        var d = Driver(s)
        d.send(.mouse(.click(x: 10, y: 5 + 3)))
        #expect(d.state.list(.routes).selection == 3)
        d.send(.mouse(.wheelDown))
        #expect(d.state.list(.routes).selection == 6)
        d.send(.mouse(.wheelUp))
        #expect(d.state.list(.routes).selection == 3)
        let secretsTab = Console.render(d.state, width: 80, height: 24).text.line(2).range(of: "2 Secrets")!
        let x =
            d.state.width > 0
            ? Console.render(d.state, width: 80, height: 24).text.line(2).distance(
                from: Console.render(d.state, width: 80, height: 24).text.line(2).startIndex, to: secretsTab.lowerBound)
            : 0
        d.send(.mouse(.click(x: x, y: 2)))
        #expect(d.state.pane == .secrets)
    }

    @Test func resizeKeepsTheSelectionVisible() {
        var s = Fixture.state(.live, pane: .routes, width: 120, height: 40)
        let many = Fixture.rows(.routes, (0..<60).map { i in json(#"{"id":"r\#(i)","name":"route \#(i)"}"#) })
        s = Fixture.reduce(s, .loaded(.live, .routes, .success(many)))
        var d = Driver(s)
        d.press(.char("G"))
        d.send(.resize(width: 80, height: 24))
        #expect(d.screen().contains("route 59"))
        #expect(d.screen().split(separator: "\n").count == 24)
        d.send(.resize(width: 60, height: 20))
        #expect(d.screen().contains("Terminal too small"))
        #expect(d.screen().contains("need 80×24"))
        d.send(.resize(width: 80, height: 24))
        #expect(d.screen().contains("route 59"))
    }
}

@Suite struct ModeTests {
    @Test func toggleSwitchesEveryPaneAndIsRemembered() {
        var d = Driver(Fixture.state(.live, pane: .secrets, width: 120, height: 40))
        #expect(d.screen().contains("GITHUB_TOKEN"))
        let effects = d.press(.char("t"))
        #expect(d.state.mode == .test)
        #expect(effects.contains(.savePreferences), "the last mode is remembered")
        #expect(effects.contains(.load(.test, .secrets)))
        let screen = d.screen()
        #expect(screen.line(1).contains("TEST MODE"))
        #expect(!screen.contains("GITHUB_TOKEN"), "nothing of Live shows in Test")
        let banner = Console.render(d.state, width: 120, height: 40)
        #expect((0..<120).allSatisfy { banner[$0, 1].role == .testBanner }, "the banner spans the whole width")
        d.press(.char(":"))
        d.type("live")
        d.press(.enter)
        #expect(d.state.mode == .live)
        #expect(d.screen().contains("GITHUB_TOKEN"))
        #expect(Console.render(d.state, width: 120, height: 40)[1, 1].role == .liveRule)
    }

    @Test func toggleClosesPagesOfTheOtherMode() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        d.press(.enter)
        #expect(d.state.stack.count == 1)
        d.press(.char("t"))
        #expect(d.state.stack.isEmpty && d.state.mode == .test)
    }

    @Test func loadsOfTheOtherModeDoNotLeakIntoTheShownOne() {
        var d = Driver(Fixture.state(.test, pane: .routes, width: 120, height: 40))
        d.send(.loaded(.live, .routes, .success(Fixture.routes)))
        #expect(!d.screen().contains("GitHub API"))
        d.send(.logRows(.live, Fixture.logs(count: 5, from: 100)))
        d.press(.char("4"))
        #expect(d.state.log.rows.isEmpty == true)
    }
}

@Suite struct EditingTests {
    @Test func routeFormBuildsTheRequestAndCompletesSecrets() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        d.press(.char("n"))
        d.type("Billing")
        d.press(.tab, .tab)
        d.type("https://billing.example.com")
        d.press(.tab, .tab)
        d.type("Authorization: Bearer {{secret:st")
        #expect(d.screen().contains("tab → STRIPE_KEY"))
        d.press(.tab)
        guard case .form(let form)? = d.state.stack.last else { Issue.record("no form"); return }
        #expect(form.value("inject_headers_json") == "Authorization: Bearer {{secret:STRIPE_KEY}}")
        d.press(.enter)
        d.type("X-Team: billing")
        let effects = d.press(.ctrl("s"))
        guard case .mutate(.live, .create(.routes, let body))? = effects.first else {
            Issue.record("expected a create, got \(effects)")
            return
        }
        #expect(body["name"] == .string("Billing"))
        #expect(body["target_base_url"] == .string("https://billing.example.com"))
        #expect(body["inject_headers_json"]?["Authorization"] == .string("Bearer {{secret:STRIPE_KEY}}"))
        #expect(body["inject_headers_json"]?["X-Team"] == .string("billing"))
        #expect(body["enabled"] == .bool(true))
    }

    @Test func apiValidationErrorLandsNextToItsField() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        d.press(.char("n"))
        d.type("Billing")
        let effects = d.press(.ctrl("s"))
        guard case .mutate(_, let mutation)? = effects.first else { Issue.record("no mutation"); return }
        d.send(
            .mutated(
                .live, mutation,
                .failure(
                    ConsoleFailure(
                        type: "validation_error", message: "target_base_url is required", field: "target_base_url"))))
        guard case .form(let form)? = d.state.stack.last else { Issue.record("the form closed"); return }
        #expect(form.errors["target_base_url"] == "target_base_url is required")
        #expect(form.fields[form.focus].name == "target_base_url", "focus moves to the field at fault")
        let screen = d.screen()
        #expect(screen.contains("✗ target_base_url is required"))
        // The label of the field at fault is drawn in the error style.
        let grid = Console.render(d.state, width: 120, height: 40)
        let row = screen.split(separator: "\n").firstIndex { $0.contains("Target URL") }!
        #expect(grid[2, row].role == .fieldError)
    }

    @Test func secretValueIsMaskedAndNeverDrawn() {
        let planted = "sk_live_PLANTED_4242_value"
        var d = Driver(Fixture.state(.live, pane: .secrets, width: 120, height: 40))
        d.press(.char("n"))
        d.type("payments")
        d.press(.tab)
        var screens: [String] = []
        for c in planted {
            d.send(.key(.char(c)))
            screens.append(d.screen())
            screens.append(d.screen(80, 24))
        }
        // Every intermediate screen: no fragment of the value, not even its length.
        for screen in screens {
            #expect(!screen.contains("PLANTED"))
            #expect(!screen.contains("4242"))
        }
        #expect(screens.last!.contains("••••••••"))
        #expect(!screens.last!.contains(String(repeating: "•", count: planted.count)))
        let effects = d.press(.ctrl("s"))
        guard case .mutate(.live, .create(.secrets, let body))? = effects.first else {
            Issue.record("\(effects)"); return
        }
        #expect(body["value"] == .string(planted))
        #expect(body["name"] == .string("payments"))
    }

    @Test func deleteInLiveNeedsTheNameTyped() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        d.press(.char("d"))
        #expect(d.screen().contains("Type the name (GitHub API)"))
        #expect(d.press(.char("y")).isEmpty, "y alone does not confirm in Live")
        #expect(d.press(.enter).isEmpty)
        #expect(d.state.toast?.text == "Type the name exactly to confirm")
        d.press(.backspace)
        d.type("GitHub API")
        let effects = d.press(.enter)
        #expect(effects == [.mutate(.live, .delete(.routes, id: "r-1"))])
        #expect(d.state.stack.isEmpty == true)
    }

    @Test func deleteInTestAsksYesNo() {
        var s = Fixture.state(.test, pane: .clients, width: 120, height: 40)
        s = Fixture.reduce(s, .loaded(.test, .clients, .success(Fixture.clients)))
        var d = Driver(s)
        d.press(.char("d"))
        #expect(d.screen().contains("Delete client office?"))
        #expect(d.press(.char("n")).isEmpty)
        #expect(d.state.stack.isEmpty == true)
        d.press(.char("d"))
        #expect(d.press(.char("y")) == [.mutate(.test, .delete(.clients, id: "c-1"))])
    }

    @Test func newKeyIsShownOnceAndCopiedWithOSC52() {
        var d = Driver(Fixture.state(.live, pane: .apiKeys, width: 120, height: 40))
        d.press(.char("n"))
        d.type("ci")
        let effects = d.press(.ctrl("s"))
        guard case .mutate(.live, let mutation)? = effects.first else { Issue.record("\(effects)"); return }
        let key = "tk_live_0123456789abcdef0123456789abcdef"
        d.send(.mutated(.live, mutation, .success(.newKey(name: "ci", key: key))))
        #expect(d.screen().contains(key))
        #expect(d.screen().contains("shown only once"))
        #expect(d.press(.char("c")) == [.copy(key)])
        #expect(d.screen().contains("Copied"))
        d.press(.enter)
        #expect(!d.screen().contains(key))
        #expect(!"\(d.state)".contains(key), "the key leaves the console's state when the dialog closes")
    }

    @Test func discardingAFormAsks() {
        var d = Driver(Fixture.state(.live, pane: .clients, width: 120, height: 40))
        d.press(.char("n"))
        d.press(.escape)
        #expect(d.state.stack.isEmpty == true, "an untouched form closes at once")
        d.press(.char("n"))
        d.type("lab")
        d.press(.escape)
        #expect(d.screen().contains("Discard changes?"))
        d.press(.char("n"))
        guard case .form? = d.state.stack.last else { Issue.record("the form closed"); return }
        d.press(.escape, .char("y"))
        #expect(d.state.stack.isEmpty == true)
    }

    @Test func clientAddressIsCheckedAsYouType() {
        var d = Driver(Fixture.state(.live, pane: .clients, width: 120, height: 40))
        d.press(.char("n"))
        d.type("lab")
        d.press(.tab)
        d.type("10.0.0.300")
        #expect(d.screen().contains("✗ not an IPv4/IPv6 address or CIDR range"))
        d.press(.ctrl("u"))
        d.type("10.0.0.1/24")
        #expect(d.screen().contains("host bits set; did you mean 10.0.0.0/24?"))
        d.press(.ctrl("u"))
        d.type("2001:db8::/32")
        #expect(d.screen().contains("✓ 2001:db8::/32"))
    }

    @Test func overrideAndAssignFormsMakeTheirRequests() {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        d.press(.char("o"))
        d.press(.right, .right)
        d.press(.tab)
        d.type("https://staging.github.example")
        var effects = d.press(.ctrl("s"))
        guard case .mutate(.live, .putRouteEnvironment(let routeId, let environment, let body))? = effects.first else {
            Issue.record("\(effects)")
            return
        }
        #expect(routeId == "r-1")
        #expect(environment == "staging")
        #expect(body["target_base_url"] == .string("https://staging.github.example"))

        d = Driver(Fixture.state(.live, pane: .routes, width: 120, height: 40))
        d.press(.char("a"))
        effects = d.press(.ctrl("s"))
        guard case .mutate(.live, .assignClient(let rid, let clientId, _))? = effects.first else {
            Issue.record("\(effects)")
            return
        }
        #expect(rid == "r-1")
        #expect(clientId == "c-2")
    }

    @Test func columnWidthsChangeAndReset() {
        var d = Driver(Fixture.state(.live, pane: .secrets, width: 120, height: 40))
        d.press(.char("]"), .char("]"))
        #expect(d.screen().contains("‹TYPE›"))
        #expect(d.press(.char(">")) == [.savePreferences])
        #expect(d.state.columnWidths["secrets.TYPE"] == 9)
        d.press(.char(">"), .char("<"), .char("<"), .char("<"))
        #expect(d.state.columnWidths["secrets.TYPE"] == 5)
        d.press(.char("["))
        for _ in 0..<100 { d.press(.char("<")) }
        #expect(d.state.columnWidths["secrets.NAME"] == Column.widthRange.lowerBound)
        d.press(.char("="))
        #expect(d.state.columnWidths.isEmpty == true)
    }
}

@Suite struct LogTailTests {
    @Test func followPausesOnScrollUpAndCountsNewRows() {
        var d = Driver(Fixture.state(.live, pane: .logs, width: 120, height: 40))
        #expect(d.state.log.follow == true)
        #expect(d.state.log.selection == 39)
        d.press(.up)
        #expect(d.state.log.follow == false)
        d.send(.logRows(.live, Fixture.logs(count: 7, from: 41)))
        #expect(d.state.log.newWhilePaused == 7)
        #expect(d.state.log.selection == 38, "the operator's row stays selected")
        #expect(d.screen().contains("paused ▼ 7 new (G resumes)"))
        d.press(.char("G"))
        #expect(d.state.log.follow && d.state.log.newWhilePaused == 0)
        #expect(d.state.log.selection == 46)
        d.send(.logRows(.live, Fixture.logs(count: 3, from: 48)))
        #expect(d.state.log.selection == 49, "following keeps the newest row selected")
        d.press(.char("f"))
        #expect(d.state.log.follow == false)
        d.press(.end)
        #expect(d.state.log.follow == true)
    }

    @Test func rowsAreNeverDuplicatedOrReordered() {
        var d = Driver(Fixture.state(.live, pane: .logs, width: 120, height: 40))
        // The stream and the table tail deliver overlapping batches.
        d.send(.logRows(.live, Fixture.logs(count: 10, from: 35)))
        d.send(.logRows(.live, Array(Fixture.logs(count: 10, from: 41).reversed())))
        #expect(d.state.log.rows.map(\.seq) == Array(1...50))
    }

    @Test func filtersByStatusMethodRouteAndText() {
        var d = Driver(Fixture.state(.live, pane: .logs, width: 120, height: 40))
        d.press(.char("s"))
        #expect(d.state.log.statusClass == 2)
        #expect(d.state.log.visible.count == d.state.log.rows.filter { ($0.statusCode ?? 0) / 100 == 2 }.count)
        #expect(d.state.log.visible.allSatisfy { ($0.statusCode ?? 0) / 100 == 2 })
        d.press(.char("s"), .char("s"), .char("s"))
        #expect(d.state.log.statusClass == 5)
        #expect(d.screen().contains("5xx"))
        #expect(d.state.log.visible.allSatisfy { $0.error == "upstream_unreachable" })
        d.press(.char("x"), .char("m"))
        #expect(d.state.log.method == "GET")
        d.press(.char("R"))
        let route = d.state.log.routeId
        #expect(route != nil)
        #expect(d.state.log.visible.allSatisfy { $0.method == "GET" && $0.routeId == route })
        d.press(.char("x"), .char("/"))
        d.type("items/17?")
        #expect(d.state.log.visible.map(\.seq) == [17])
        #expect(d.screen().contains("/v1/items/17?page=2"))
    }

    @Test func requestDetailShowsEverythingWithCredentialsRedacted() {
        var d = Driver(Fixture.state(.live, pane: .logs, width: 120, height: 40))
        d.press(.enter)
        let screen = d.screen()
        for label in [
            "method", "path", "status", "upstream status", "latency", "upstream latency", "client ip", "headers",
        ] {
            #expect(screen.contains(label), "detail lacks \(label)")
        }
        #expect(screen.contains("‹redacted›"))
        #expect(screen.contains("GET /v1/items/40"))
    }

    /// The filtered view is kept incrementally; it must always equal filtering every kept row from scratch.
    @Test func incrementalFilterEqualsAFullScan() {
        var d = Driver(Fixture.state(.live, pane: .logs, width: 120, height: 40))
        func scan() -> [Int64] {
            let log = d.state.log
            let needle = log.text.lowercased()
            return log.rows.filter { row in
                if let c = log.statusClass, (row.statusCode ?? 0) / 100 != c { return false }
                if let m = log.method, row.method != m { return false }
                let hay =
                    "\(row.method) \(row.path) \(row.statusCode ?? 0) \(row.error ?? "") \(row.srcIp ?? "") "
                    + (log.routeNames[row.routeId ?? ""] ?? "")
                return needle.isEmpty || hay.lowercased().contains(needle)
            }.map(\.seq)
        }
        d.press(.char("/"))
        d.type("stripe")  // a route name: matched through the route names
        d.press(.enter)
        #expect(d.state.log.visibleCount > 0)
        #expect(d.state.log.visible.map(\.seq) == scan())
        var seq: Int64 = 41
        while seq < Int64(LogState.capacity) + 7_000 {  // arrivals, then trimming at the capacity
            d.send(.logRows(.live, Fixture.logs(count: 3_000, from: seq)))
            seq += 3_000
            #expect(d.state.log.visible.map(\.seq) == scan())
        }
        d.press(.char("s"))  // 2xx on top of the text
        #expect(d.state.log.visible.map(\.seq) == scan())
        d.press(.char("/"))
        d.type(" c")  // a longer needle narrows
        #expect(d.state.log.visible.map(\.seq) == scan())
        d.press(.backspace, .backspace, .backspace)  // a shorter one widens again
        #expect(d.state.log.text == "strip")
        #expect(d.state.log.visible.map(\.seq) == scan())
        d.press(.escape, .char("x"))
        #expect(!d.state.log.isFiltered)
        #expect(d.state.log.visibleCount == d.state.log.rows.count)
    }

    @Test func capacityBoundsMemoryButKeepsTheNewest() {
        var d = Driver(Fixture.state(.live, pane: .logs, width: 120, height: 40))
        var seq: Int64 = 41
        while seq < Int64(LogState.capacity) + 5_000 {
            d.send(.logRows(.live, Fixture.logs(count: 2_000, from: seq)))
            seq += 2_000
        }
        #expect(d.state.log.rows.count == LogState.capacity)
        #expect(d.state.log.rows.last?.seq == seq - 1)
        #expect(d.state.log.selection == LogState.capacity - 1)
    }
}
