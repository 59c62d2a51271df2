import Foundation
import KnoxAPI
import KnoxConsole
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

/// The reducer wired to real engines through `EngineBridge`, as the console runs it, minus the terminal: keys in,
/// handler calls out, results back as events.
struct LiveDriver {
    var state: ConsoleState
    let bridge: EngineBridge
    var copied: [String] = []
    /// Every screen drawn, at both golden sizes (searched for planted values).
    var screens: [String] = []

    init(engines: [Mode: Engine], mode: Mode = .live) async {
        bridge = EngineBridge(engines: engines)
        state = ConsoleState(mode: mode, environment: Deployment(dataDirectory: "/tmp/x"), width: 120, height: 40)
        for m in Mode.allCases { if let e = bridge.context(m) { await send(e) } }
        await send(.key(.char("1")))
    }

    mutating func send(_ event: ConsoleEvent) async {
        var queue = [event]
        while !queue.isEmpty {
            let (next, effects) = Console.reduce(state, queue.removeFirst())
            state = next
            for effect in effects {
                switch effect {
                case .load(let m, let p): if let e = await bridge.load(m, p) { queue.append(e) }
                case .loadDetail(let m, let p, let id):
                    if let e = await bridge.loadDetail(m, p, id: id) { queue.append(e) }
                case .mutate(let m, let mutation):
                    queue.append(await bridge.mutate(m, mutation))
                    if let e = bridge.context(m) { queue.append(e) }
                case .copy(let text): copied.append(text)
                case .savePreferences, .quit: break
                }
            }
        }
        screens.append(Console.render(state, width: 120, height: 40).text)
        screens.append(Console.render(state, width: 80, height: 24).text)
    }

    mutating func press(_ keys: Key...) async {
        for key in keys { await send(.key(key)) }
    }

    mutating func type(_ text: String) async {
        for c in text { await send(.key(.char(c))) }
    }

    var screen: String { Console.render(state, width: 120, height: 40).text }
}

@Suite struct EngineDrivenTests {
    let fixture: EngineFixture
    let engines: [Mode: Engine]

    init() throws {
        fixture = try EngineFixture()
        engines = [.live: try fixture.engine(.live), .test: try fixture.engine(.test)]
    }

    @Test func keyboardCreatesThroughTheHandlersAndModesStayApart() async throws {
        let planted = "PLANTED-console-secret-9f8e7d"
        Capture.plant(planted, kind: "secret_value")
        var d = await LiveDriver(engines: engines)
        // A secret, typed into the masked field.
        await d.press(.char("2"), .char("n"))
        await d.type("upstream token")
        await d.press(.tab)
        await d.type(planted)
        await d.press(.ctrl("s"))
        #expect(d.screen.contains("UPSTREAM_TOKEN"), "the engine normalized the name")
        // A route that uses it, with the reference completed from the secret list.
        await d.press(.char("1"), .char("n"))
        await d.type("Echo")
        await d.press(.tab, .tab)
        await d.type("http://127.0.0.1:9")
        await d.press(.tab, .tab)
        await d.type("Authorization: Bearer {{secret:up")
        await d.press(.tab, .ctrl("s"))
        #expect(d.screen.contains("Echo"))
        #expect(d.screen.contains("Created route Echo"))
        // A client.
        await d.press(.char("3"), .char("n"))
        await d.type("office")
        await d.press(.tab)
        await d.type("192.0.2.0/24")
        await d.press(.ctrl("s"))
        #expect(d.screen.contains("192.0.2.0/24"))

        let live = engines[.live]!
        let routes = try await live.listRoutes([:], actor: .console).items
        #expect(routes.count == 1)
        #expect(routes.first?["inject_headers_json"]?["Authorization"] == .string("Bearer {{secret:UPSTREAM_TOKEN}}"))
        #expect(try await live.listClients([:], actor: .console).items.count == 1)
        // Each change wrote its audit row as the console.
        let audit = try await live.listAuditLogs(["per_page": "100"], actor: .console).items
        #expect(
            Set(audit.compactMap { $0["action"]?.stringValue }) == [
                "secret.created", "route.created", "client.created",
            ])
        #expect(audit.allSatisfy { $0["actor"]?.stringValue == "console" })

        // Test mode: the sandbox is empty and says so.
        await d.press(.char("t"))
        #expect(d.screen.line(1).contains("TEST MODE"))
        for pane in ["1", "2", "3"] {
            await d.press(.char(Character(pane)))
            #expect(d.screen.contains("Nothing here yet"), "pane \(pane) in Test")
            #expect(!d.screen.contains("Echo") && !d.screen.contains("UPSTREAM_TOKEN") && !d.screen.contains("office"))
        }
        #expect(try await engines[.test]!.listRoutes([:], actor: .console).items.isEmpty)
        // And back.
        await d.press(.char("t"), .char("1"))
        #expect(d.screen.contains("Echo"))
        await d.press(.char("2"), .enter)
        #expect(d.screen.contains("used_by"))
        #expect(d.screen.contains("Echo"))

        for screen in d.screens { #expect(!screen.contains(planted)) }
        #expect(!d.screens.joined().contains("PLANTED"))
        Capture.record("console-screens", Array(d.screens.joined(separator: "\n\u{0C}\n").utf8))
        fixture.dir.remove()
    }

    @Test func engineValidationShowsNextToTheFieldAndConflictsAsToasts() async throws {
        var d = await LiveDriver(engines: engines)
        await d.press(.char("n"))
        await d.type("Bad")
        await d.press(.tab, .tab)
        await d.type("http://127.0.0.1:9")
        await d.press(.tab, .tab)
        await d.type("X-Key: {{secret:MISSING}}")
        await d.press(.ctrl("s"))
        guard case .form(let form)? = d.state.stack.last else {
            Issue.record("the form closed on an invalid route")
            return
        }
        #expect(form.errors["inject_headers_json"]?.contains("MISSING") == true)
        #expect(d.screen.contains("✗"))
        #expect(try await engines[.live]!.listRoutes([:], actor: .console).items.isEmpty, "nothing half-written")

        // A secret in use cannot be deleted: the API's 409 message shows.
        _ = try await engines[.live]!.createSecret(json(#"{"name":"K","value":"v"}"#), RequestContext(actor: .cli))
        await d.press(.escape, .char("y"), .char("r"))
        await d.send(d.bridge.context(.live)!)
        await d.press(.char("n"))
        await d.type("Uses K")
        await d.press(.tab, .tab)
        await d.type("http://127.0.0.1:9")
        await d.press(.tab, .tab)
        await d.type("X-Key: {{secret:K}}")
        await d.press(.ctrl("s"))
        await d.press(.char("2"), .char("d"))
        await d.type("K")
        await d.press(.enter)
        #expect(d.state.toast?.kind == .error)
        #expect(
            d.state.toast?.text.contains("Uses K") == true
                || d.state.toast?.text.lowercased().contains("in use") == true)
        #expect(try await engines[.live]!.listSecrets([:], actor: .console).items.count == 1)
    }

    /// OAuth authorization requests (authorization-code grant) wait in the API keys pane; A approves, X denies.
    @Test func pendingAuthorizationRequestsAreDecidedFromTheKeysPane() async throws {
        let live = try #require(engines[.live])
        let client = try await live.makeKey("Deploy bot", extra: ["redirect_uris": ["http://127.0.0.1:7777/cb"]])
        let clientId = String(client[..<client.lastIndex(of: "_")!])
        func ask() async throws -> String {
            let step = try await live.beginAuthorization(
                [
                    "response_type": "code", "client_id": clientId, "redirect_uri": "http://127.0.0.1:7777/cb",
                    "state": "s",
                    "code_challenge": String(repeating: "A", count: 43), "code_challenge_method": "S256",
                    "scope": "routes:read",
                ], ipAddress: nil)
            guard case .waiting(let record, _) = step else { throw TestFailure("not waiting: \(step)") }
            return record.id
        }
        let first = try await ask()
        var d = await LiveDriver(engines: engines)
        await d.press(.char("6"))
        #expect(d.screen.contains("Deploy bot (authorization)"))
        #expect(d.screen.contains("pending"))
        // The selected row is the request (pending rows come first); a key row is not decided.
        await d.press(.char("j"), .char("A"))
        #expect(d.screen.contains("Select an OAuth authorization request"))
        await d.press(.char("g"), .char("A"))
        #expect(d.screen.contains("Approved"))
        #expect(!d.screen.contains("Deploy bot (authorization)"))
        guard case .redirect(let location) = try await live.collectAuthorization(first) else {
            throw TestFailure("the approved request did not go back to the client")
        }
        #expect(location.hasPrefix("http://127.0.0.1:7777/cb?code=kcc_"))
        // Denied from the console: the application hears access_denied.
        let second = try await ask()
        await d.press(.char("r"), .char("g"), .char("X"))
        guard case .redirect(let denied) = try await live.collectAuthorization(second) else {
            throw TestFailure("the denied request did not go back to the client")
        }
        #expect(denied.contains("error=access_denied"))
        // The audit log names the console as the one who decided.
        let audit = try await live.listAuditLogs(["action": "oauth_authorization.approved"], actor: .console)
        #expect(audit.items.first?["actor"]?.stringValue == "console")
    }

    @Test func apiKeyIsShownOnceThenOnlyItsPrefix() async throws {
        var d = await LiveDriver(engines: engines)
        await d.press(.char("6"), .char("n"))
        await d.type("deploy")
        await d.press(.ctrl("s"))
        guard case .reveal(let reveal)? = d.state.stack.last else {
            Issue.record("no reveal dialog")
            return
        }
        #expect(reveal.key.hasPrefix("tk_live_"))
        #expect(d.screen.contains(reveal.key))
        await d.press(.char("c"))
        #expect(d.copied == [reveal.key])
        await d.press(.enter)
        #expect(!d.screen.contains(reveal.key))
        #expect(d.screen.contains("deploy"))
        // The key works against the engine: it was really created.
        let auth = try engines[.live]!.authenticate(credential: reveal.key)
        #expect(auth.key?.name == "deploy")
        // In Test, keys are tk_test_.
        await d.press(.char("t"), .char("n"))
        await d.type("sandbox")
        await d.press(.ctrl("s"))
        guard case .reveal(let testKey)? = d.state.stack.last else {
            Issue.record("no reveal dialog in Test")
            return
        }
        #expect(testKey.key.hasPrefix("tk_test_"))
    }

    @Test func environmentsOverridesAndAssignments() async throws {
        var d = await LiveDriver(engines: engines)
        await d.press(.char("5"), .char("n"))
        await d.type("staging")
        await d.press(.tab)
        await d.type("Staging")
        await d.press(.ctrl("s"))
        #expect(d.screen.contains("staging"))
        await d.press(.char("3"), .char("n"))
        await d.type("lab")
        await d.press(.tab)
        await d.type("10.1.0.0/16")
        await d.press(.ctrl("s"))
        await d.press(.char("1"), .char("n"))
        await d.type("Svc")
        await d.press(.tab, .tab)
        await d.type("http://127.0.0.1:9")
        await d.press(.ctrl("s"))
        #expect(d.screen.contains("Svc"))
        await d.press(.char("o"))
        await d.press(.tab)
        await d.type("http://127.0.0.1:10")
        await d.press(.ctrl("s"))
        await d.press(.char("a"), .ctrl("s"))
        let route = try await engines[.live]!.listRoutes([:], actor: .console).items[0]
        let id = route["id"]!.stringValue!
        let envs = try await engines[.live]!.routeEnvironments(id, actor: .console)
        #expect("\(envs)".contains("http://127.0.0.1:10"))
        let clients = try await engines[.live]!.routeClients(id, actor: .console)
        #expect("\(clients)".contains("lab"))
        await d.press(.enter)
        #expect(d.screen.contains("http://127.0.0.1:10"))
        #expect(d.screen.contains("lab"))
    }
}
