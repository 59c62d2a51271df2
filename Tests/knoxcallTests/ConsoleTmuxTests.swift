import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

/// The console in a real terminal (tmux), driven from the keyboard, against the real binary, a real upstream and the
/// real data plane.
@Suite(.serialized) struct ConsoleTmuxTests {
    static let ephemeral = [
        "--live-api", "127.0.0.1:0", "--test-api", "127.0.0.1:0", "--live-proxy", "127.0.0.1:0", "--test-proxy",
        "127.0.0.1:0",
    ]

    func console(
        _ dir: TempDirectory, _ extra: [String] = [], subcommand: [String] = ["console"], width: Int = 120,
        height: Int = 40, environment: [String: String] = [:]
    ) throws -> Tmux {
        try Tmux(
            [Knoxcall.executable] + subcommand + ["--data-dir", dir.path] + extra, width: width, height: height,
            environment: environment)
    }

    /// The terminal after the console ended: normal screen, cursor shown, no mouse reporting, no keypad mode.
    func expectRestored(_ tmux: Tmux, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let modes = try tmux.terminalModes()
        #expect(!modes.alternate, "still on the alternate screen", sourceLocation: sourceLocation)
        #expect(modes.cursorVisible, "cursor left hidden", sourceLocation: sourceLocation)
        #expect(!modes.mouse, "mouse reporting left on", sourceLocation: sourceLocation)
        #expect(!modes.keypad, "keypad mode left on", sourceLocation: sourceLocation)
    }

    static func match(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let r = Range(m.range(at: m.numberOfRanges > 1 ? 1 : 0), in: text)
        else { return nil }
        return String(text[r])
    }

    @Test func operatorFlowCreatesTogglesTailsResizesAndQuits() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let upstream = try TestUpstream()
        defer { upstream.stop() }
        let planted = "PLANTED-e2e-value-5c1b"
        Capture.plant(planted, kind: "secret_value")
        let tmux = try console(dir, Self.ephemeral)
        defer { tmux.kill() }
        try tmux.waitFor("Nothing here yet")
        let first = try tmux.screen()
        #expect(first.split(separator: "\n").first?.contains("● LIVE") == true)

        // A secret, a route that injects it, a client: all from the keyboard.
        try tmux.keys("2", "n")
        try tmux.waitFor("New secret")
        try tmux.type("upstream token")
        try tmux.keys("Tab")
        try tmux.type(planted)
        try tmux.waitFor("••••••••")
        try tmux.keys("C-s")
        try tmux.waitFor("UPSTREAM_TOKEN")

        try tmux.keys("1", "n")
        try tmux.waitFor("New route")
        try tmux.type("Echo")
        try tmux.keys("Tab", "Tab")
        try tmux.type(upstream.url)
        try tmux.keys("Tab", "Tab")
        try tmux.type("Authorization: Bearer {{secret:up")
        try tmux.waitFor("tab → UPSTREAM_TOKEN")
        try tmux.keys("Tab", "C-s")
        try tmux.waitFor("Created route Echo")

        try tmux.keys("3", "n")
        try tmux.waitFor("New client")
        try tmux.type("office")
        try tmux.keys("Tab")
        try tmux.type("10.9.0.1/16")
        try tmux.waitFor("did you mean 10.9.0.0/16?")
        try tmux.keys("BSpace", "BSpace", "BSpace", "BSpace")
        try tmux.type("0/16")
        try tmux.waitFor("✓ 10.9.0.0/16")
        try tmux.keys("C-s")
        try tmux.waitFor("Created client office")

        // An API key for the data plane, shown once.
        try tmux.keys("6", "n")
        try tmux.waitFor("New API key")
        try tmux.type("e2e")
        // Keys start read-only; this one may call routes.
        try tmux.keys("Tab", "Right")
        try tmux.waitFor("‹ Key — Invoke ›")
        try tmux.keys("C-s")
        let reveal = try tmux.waitFor("shown only once")
        // The whole key (the list behind the dialog shows only its prefix, cut with "…").
        let key = try #require(Self.match("(tk_live_[A-Za-z0-9_]{24,})(?!…)", in: reveal))
        try tmux.keys("Enter")
        try tmux.waitFor("the key dialog to close") { !$0.contains("shown only once") && $0.contains("API keys 1") }
        #expect(!(try tmux.screen()).contains(key), "the key is gone once the dialog closes")

        // Test mode: amber banner, empty panes.
        try tmux.keys("t")
        let banner = try tmux.waitFor("the Test banner", colors: true) { $0.contains("TEST MODE") }
        #expect(
            SGR.style(in: banner, at: "TEST MODE").background == "5;214",
            "the banner is amber (xterm 214): \(banner.prefix(400).debugDescription)")
        #expect(SGR.style(in: banner, at: "▲ TEST").background == "5;214", "so is the mode badge")
        for pane in ["1", "2", "3"] {
            try tmux.keys(pane)
            let screen = try tmux.waitFor("an empty pane \(pane)") {
                $0.contains("Nothing here yet") && $0.contains("TEST MODE")
            }
            #expect(!screen.contains("Echo") && !screen.contains("UPSTREAM_TOKEN") && !screen.contains("office"))
        }
        // And back to Live, where the three are.
        try tmux.keys("t", "1")
        let live = try tmux.waitFor("Echo in Live") { $0.contains("Echo") && !$0.contains("TEST MODE") }
        #expect(live.split(separator: "\n")[1].contains("LIVE"))
        try tmux.keys("2")
        try tmux.waitFor("UPSTREAM_TOKEN")
        try tmux.keys("3")
        try tmux.waitFor("10.9.0.0/16")

        // Traffic through the data plane shows in the log pane as it happens.
        let header = try tmux.screen().split(separator: "\n")[0]
        let proxyPort = try #require(Int(Self.match("proxy 127\\.0\\.0\\.1:([0-9]+)", in: String(header)) ?? ""))
        try tmux.keys("4")
        try tmux.waitFor("Waiting for requests")
        for i in 1...5 {
            let response = try await blocking {
                try RawHTTP.request(
                    port: proxyPort, method: "GET", path: "/e2e/\(i)?q=\(i)",
                    headers: ["x-knoxcall-key": key, "x-knoxcall-route": "echo"])
            }
            #expect(response.status == 200, "\(response.text)")
        }
        #expect(upstream.requests.count == 5)
        #expect(
            upstream.requests.allSatisfy { $0.header("Authorization") == "Bearer \(planted)" },
            "the secret was injected")
        let logs = try tmux.waitFor("five rows in the log") { $0.contains("Logs 5") && $0.contains("/e2e/5") }
        #expect(logs.contains("/e2e/1"))
        #expect(logs.contains("200"))
        try tmux.keys("Enter")
        let detail = try tmux.waitFor("upstream latency")
        #expect(detail.contains("x-knoxcall-key") && detail.contains("‹redacted›"))
        #expect(!detail.contains(key))
        try tmux.keys("Escape")

        // Resizing redraws at the new size; too small says so; growing back redraws again.
        try tmux.resize(width: 80, height: 24)
        let small = try tmux.waitFor("an 80×24 redraw") { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.count >= 24 && lines[0].hasPrefix(" KnoxCall") && lines[23].contains("f follow")
        }
        for line in small.split(separator: "\n") { #expect(TextWidthProbe.columns(String(line)) <= 80) }
        #expect(small.contains("/e2e/5"))
        try tmux.resize(width: 70, height: 20)
        try tmux.waitFor("Terminal too small")
        try tmux.resize(width: 100, height: 30)
        try tmux.waitFor("a 100×30 redraw") { $0.contains("/e2e/5") && !$0.contains("Terminal too small") }

        // Quit: the terminal is given back as it was.
        try tmux.keys("q")
        #expect(try tmux.exitStatus() == 0)
        try expectRestored(tmux)
        let prefs = try String(contentsOfFile: dir.file("console.json"), encoding: .utf8)
        #expect(prefs.contains("\"mode\" : \"live\"") || prefs.contains("\"mode\": \"live\""))

        // The planted secret value never reached the screen.
        #expect(!tmux.captures.isEmpty)
        for capture in tmux.captures { #expect(!capture.contains(planted)) }
        #expect(!tmux.captures.joined().contains("PLANTED-e2e"))
    }

    @Test func noArgumentsOpensTheConsoleAndCtrlCRestores() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let tmux = try console(dir, Self.ephemeral, subcommand: [])
        defer { tmux.kill() }
        try tmux.waitFor("1 Routes")
        #expect(try tmux.terminalModes().alternate)
        try tmux.keys("C-c")
        #expect(try tmux.exitStatus() == 0)
        try expectRestored(tmux)
    }

    @Test func sigtermRestoresTheTerminal() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let tmux = try console(dir, Self.ephemeral)
        defer { tmux.kill() }
        try tmux.waitFor("1 Routes")
        kill(try tmux.commandPID(), SIGTERM)
        #expect(try tmux.exitStatus() == 0)
        try expectRestored(tmux)
    }

    @Test func aCrashRestoresTheTerminal() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let tmux = try console(dir, Self.ephemeral)
        defer { tmux.kill() }
        try tmux.waitFor("1 Routes")
        kill(try tmux.commandPID(), SIGABRT)
        #expect(try tmux.exitStatus() == 128 + Int(SIGABRT), "the process still dies of its signal")
        try expectRestored(tmux)
    }

    @Test func tailsTheDatabaseWhenAnotherProcessServesTraffic() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let upstream = try TestUpstream()
        defer { upstream.stop() }
        let admin = try Knoxcall.adminKey(dataDir: dir.path)
        let server = try await blocking { try ServerProcess(dataDir: dir.path) }
        defer { server.stop() }
        let created = try await blocking {
            try RawHTTP.request(
                port: server.livePort, method: "POST", path: "/v1/routes",
                headers: ["Authorization": "Bearer \(admin)", "Content-Type": "application/json"],
                body: #"{"name":"Remote","target_base_url":"\#(upstream.url)"}"#)
        }
        #expect(created.status == 201)
        let tmux = try console(dir, ["--no-listen"], environment: ["NO_COLOR": "1"])
        defer { tmux.kill() }
        // The route made by the other process shows, and the header says this console does not listen.
        let routes = try tmux.waitFor("Remote")
        #expect(routes.contains("api off") && routes.contains("proxy off"))
        // NO_COLOR: attributes only, no colour sequences.
        let colored = try tmux.screen(colors: true)
        #expect(!colored.contains("38;5;") && !colored.contains("48;5;"))
        #expect(SGR.style(in: colored, at: "KnoxCall").reverse, "reverse video still marks the header")
        try tmux.keys("4")
        try tmux.waitFor("Waiting for requests")
        for i in 1...3 {
            _ = try await blocking {
                try RawHTTP.request(
                    port: server.liveProxyPort, method: "POST", path: "/remote/\(i)",
                    headers: ["x-knoxcall-key": admin, "x-knoxcall-route": "remote"], body: "{}")
            }
        }
        try tmux.waitFor("three remote rows") { $0.contains("Logs 3") && $0.contains("/remote/3") }
        try tmux.keys("q")
        #expect(try tmux.exitStatus() == 0)
        try expectRestored(tmux)
    }

    @Test func withoutATerminalItSaysSo() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let result = try Knoxcall.run(["console", "--data-dir", dir.path, "--no-listen"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("the console needs a terminal"))
        let badTheme = try Tmux([
            Knoxcall.executable, "console", "--data-dir", dir.path, "--no-listen", "--theme", "nope",
        ])
        defer { badTheme.kill() }
        #expect(try badTheme.exitStatus() != 0)
        try badTheme.waitFor("no such theme")
    }
}

/// Reads the SGR escape sequences of a `capture-pane -e` screen: the style in effect where some text starts.
enum SGR {
    struct Style {
        var background = "default"
        var foreground = "default"
        var reverse = false
        var bold = false
    }

    static func style(in screen: String, at marker: String) -> Style {
        guard let end = screen.range(of: marker)?.lowerBound else { return Style() }
        var style = Style()
        var rest = screen[..<end]
        while let esc = rest.range(of: "\u{1B}[") {
            let tail = rest[esc.upperBound...]
            guard let m = tail.firstIndex(of: "m") else { break }
            let params = tail[..<m].split(separator: ";", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
            var i = 0
            while i < max(params.count, 1) {
                let p = params.isEmpty ? 0 : params[i]
                switch p {
                case 0: style = Style()
                case 1: style.bold = true
                case 7: style.reverse = true
                case 22: style.bold = false
                case 27: style.reverse = false
                case 30...37: style.foreground = "\(p - 30)"
                case 39: style.foreground = "default"
                case 40...47: style.background = "\(p - 40)"
                case 49: style.background = "default"
                case 38, 48:
                    if i + 2 < params.count, params[i + 1] == 5 {
                        if p == 38 {
                            style.foreground = "5;\(params[i + 2])"
                        } else {
                            style.background = "5;\(params[i + 2])"
                        }
                        i += 2
                    }
                default: break
                }
                i += 1
            }
            rest = tail[tail.index(after: m)...]
        }
        return style
    }
}

/// Display columns of captured text (wide characters take two).
enum TextWidthProbe {
    static func columns(_ line: String) -> Int {
        line.unicodeScalars.reduce(0) { sum, s in
            let v = s.value
            let wide =
                (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v)
            return sum + (s.properties.generalCategory == .nonspacingMark ? 0 : wide ? 2 : 1)
        }
    }
}
