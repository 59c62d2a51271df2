import Foundation
import KnoxConsole
import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Testing

@Suite struct ThemeTests {
    static let dir = GoldenScreenTests.themes

    @Test(arguments: Theme.builtinNames)
    func shippedThemeDefinesEveryRole(name: String) throws {
        let theme = try Theme.load(name, directories: [Self.dir])
        for role in StyleRole.allCases {
            #expect(theme.styles[role] != nil, "\(name).toml lacks roles.\(role.rawValue)")
        }
        // Test and Live cues are never plain text.
        for role in [StyleRole.testBanner, .testBadge, .liveBadge, .rowSelected, .tabActive] {
            let style = theme.style(role)
            #expect(style.reverse || style.bg != .terminal, "\(name): \(role) must stand out")
        }
    }

    /// Found by the `theme` fuzz target (fuzz/findings/theme): a control byte made the TOML parser abort.
    @Test func aThemeWithAControlCharacterIsRefusedNotFatal() {
        do {
            _ = try Theme.parse("[\u{01}\0\0\0\0\0\0\0\0", name: "t", file: "t.toml")
            Issue.record("accepted")
        } catch {
            #expect(error.file == "t.toml")
            #expect(error.message == "line 1, column 2: control character U+0001 is not allowed in TOML")
        }
    }

    @Test func colourThemesUseAmberForTestAndRedForLive() throws {
        for name in ["dark", "light"] {
            let theme = try Theme.load(name, directories: [Self.dir])
            guard case .rgb(let r, let g, let b) = theme.style(.testBanner).bg else {
                Issue.record("\(name): the Test banner has no RGB background")
                continue
            }
            #expect(r > 200 && g > 120 && g < 200 && b < 40, "\(name): amber, got \(r),\(g),\(b)")
            guard case .rgb(let lr, let lg, let lb) = theme.style(.liveBadge).bg else {
                Issue.record("\(name): the Live badge has no RGB background")
                continue
            }
            #expect(lr > 150 && lg < 60 && lb < 60, "\(name): red, got \(lr),\(lg),\(lb)")
        }
    }

    @Test func coloursDegradeTo256And8AndNone() throws {
        let amber = ThemeColor.rgb(0xFF, 0xB0, 0x00)
        #expect(amber.index(colors: 256) == 214)
        #expect(amber.index(colors: 8) == 3, "amber becomes yellow on 8 colours")
        #expect(ThemeColor.rgb(0xC8, 0x1E, 0x1E).index(colors: 8) == 1, "red stays red")
        #expect(ThemeColor.rgb(0x1F, 0x24, 0x30).index(colors: 256) == 235, "dark gray maps to the gray ramp")
        #expect(ThemeColor.ansi(11).index(colors: 8) == 3)
        #expect(ThemeColor.terminal.index(colors: 256) == -1)
        let dark = try Theme.load("dark", directories: [Self.dir])
        let bare = dark.withoutColor
        #expect(bare.styles.values.allSatisfy { $0.fg == .terminal && $0.bg == .terminal })
        #expect(bare.style(.testBanner).bold, "without colour the attributes remain")
    }

    @Test func badThemeFilesNameTheProblem() {
        func error(_ text: String) -> String {
            do {
                _ = try Theme.parse(text, name: "x", file: "x.toml")
                return "parsed"
            } catch {
                return error.description
            }
        }
        #expect(error("[roles]\nnormal = {}\nbogus = {}") == "x.toml: roles.bogus: unknown role")
        #expect(error("[roles]\nnormal = { fg = \"#12\" }").hasPrefix("x.toml: roles.normal.fg: a colour is"))
        #expect(error("[roles]\nnormal = { bold = \"yes\" }") == "x.toml: roles.normal.bold: must be true or false")
        #expect(error("[roles]\nmuted = {}") == "x.toml: roles.normal: is required")
        #expect(error("colour = 1\n[roles]\nnormal = {}").contains("colour: unknown key"))
        #expect(error("[roles") == "x.toml: line 1, column 7: expected ] after the table name")
        do {
            _ = try Theme.load("../etc/passwd", directories: [Self.dir])
            Issue.record("a path was accepted as a theme name")
        } catch {
            #expect(error.message.contains("letters, digits"))
        }
        do {
            _ = try Theme.load("nope", directories: [Self.dir])
            Issue.record("a missing theme loaded")
        } catch {
            #expect(error.message.contains("no such theme"))
        }
    }

    @Test func configChoosesTheThemeAndMouse() throws {
        let config = try KnoxConfig.parse("[console]\ntheme = \"light\"\nmouse = false\n")
        #expect(config.consoleTheme == "light")
        #expect(config.consoleMouse == false)
        #expect(throws: ConfigError.self) { try KnoxConfig.parse("[console]\ntheme = \"../x\"\n") }
        #expect(throws: ConfigError.self) { try KnoxConfig.parse("[console]\ncolour = 1\n") }
    }
}

@Suite struct PreferenceTests {
    @Test func roundTripAndBadFilesFallBack() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("console.json")
        #expect(Preferences.load(path) == Preferences(), "no file: defaults")
        let prefs = Preferences(theme: "light", mode: .test, columns: ["routes.NAME": 30, "logs.PATH": 12])
        prefs.save(path)
        #expect(Preferences.load(path) == prefs)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        try "{ not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(Preferences.load(path) == Preferences(), "a damaged file never stops the console")
        try #"{"mode":"staging","columns":{"routes.NAME":5000}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(Preferences.load(path) == Preferences(), "out-of-range values are ignored")
    }

    @Test func widthsApplyToTheLayout() {
        var s = Fixture.state(.live, pane: .routes, width: 120, height: 40)
        s.columnWidths = ["routes.SLUG": 30]
        let header = Console.render(s, width: 120, height: 40).text.line(4)
        let slug = header.range(of: "SLUG")!
        let target = header.range(of: "TARGET")!
        #expect(header.distance(from: slug.lowerBound, to: target.lowerBound) == 31)
    }
}
