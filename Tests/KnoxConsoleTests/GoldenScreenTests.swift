import Foundation
import KnoxConsole
import KnoxCore
import Testing

/// Golden screens: the exact text of each screen, and how the mono theme styles every cell. A change to the layout
/// fails here; `KNOXCALL_UPDATE_GOLDENS=1 swift test --filter GoldenScreenTests` rewrites the files after review.
@Suite struct GoldenScreenTests {
    static let sizes = [(80, 24), (120, 40)]
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens")
    static let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../themes"
    )
    .standardized.path
    static let legend =
        "── styles in the mono theme: . plain  B bold  U underline  V bold+underline  R reverse  X reverse+bold  D dim ──"

    static func mono() throws -> Theme { try Theme.load("mono", directories: [themes]) }

    /// The golden text: the screen, then one attribute letter per cell under the mono theme.
    static func document(_ grid: Grid, theme: Theme) -> String {
        var styles: [String] = []
        for y in 0..<grid.height {
            styles.append(String((0..<grid.width).map { theme.style(grid[$0, y].role).attributeLetter }))
        }
        return grid.text + "\n" + legend + "\n" + styles.joined(separator: "\n") + "\n"
    }

    static func check(_ name: String, _ grid: Grid, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let text = document(grid, theme: try mono())
        let url = goldens.appendingPathComponent("\(name).txt")
        if ProcessInfo.processInfo.environment["KNOXCALL_UPDATE_GOLDENS"] == "1" {
            try FileManager.default.createDirectory(at: goldens, withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record(
                "missing golden \(url.path); run with KNOXCALL_UPDATE_GOLDENS=1 and review it",
                sourceLocation: sourceLocation)
            return
        }
        if expected != text {
            let actual = goldens.appendingPathComponent("\(name).actual.txt")
            try? text.write(to: actual, atomically: true, encoding: .utf8)
            let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            Issue.record(
                """
                screen \(name) differs from its golden at line \(first + 1) (written to \(actual.lastPathComponent)):
                expected: \(first < a.count ? String(a[first]) : "<end>")
                actual:   \(first < b.count ? String(b[first]) : "<end>")
                """, sourceLocation: sourceLocation)
        }
    }

    static var paneCases: [(Pane, Mode)] { Pane.allCases.flatMap { p in Mode.allCases.map { (p, $0) } } }

    @Test(arguments: paneCases)
    func everyPane(pane: Pane, mode: Mode) throws {
        for (w, h) in Self.sizes {
            let state = Fixture.state(mode, pane: pane, width: w, height: h)
            let grid = Console.render(state, width: w, height: h)
            try Self.check("\(pane.commands[0])-\(mode.rawValue)-\(w)x\(h)", grid)
            // Every screen says which mode it is in, in its first two lines.
            let top = grid.text.line(0) + grid.text.line(1)
            #expect(top.contains(mode == .live ? "LIVE" : "TEST MODE"))
        }
    }

    @Test func pagesAndDialogs() throws {
        var d = Driver(Fixture.state(.live, pane: .routes, width: 80, height: 24))
        d.press(.char("?"))
        try Self.check("help-80x24", Console.render(d.state, width: 80, height: 24))
        d.press(.escape, .enter)
        try Self.check("route-detail-80x24", Console.render(d.state, width: 80, height: 24))
        d.press(.escape, .char("n"))
        d.type("Billing")
        d.press(.tab, .tab)
        d.type("https://billing.example.com")
        d.press(.tab, .tab)
        d.type("Authorization: Bearer {{secret:GI")
        try Self.check("route-form-80x24", Console.render(d.state, width: 80, height: 24))
        d.press(.escape, .char("y"), .char("d"))
        d.type("GitHub")
        try Self.check("delete-live-80x24", Console.render(d.state, width: 80, height: 24))
        d.press(.escape, .char("4"), .up, .enter)
        try Self.check("log-detail-120x40", Console.render(d.state, width: 120, height: 40))
        try Self.check("too-small-79x23", Console.render(d.state, width: 79, height: 23))
    }
}

extension Pane: CustomTestStringConvertible {
    public var testDescription: String { commands[0] }
}
