import Foundation
import KnoxCore
import KnoxDataPlane
import KnoxEngine

/// A colour as a theme names it.
public enum ThemeColor: Sendable, Equatable {
    /// The terminal's own colour (transparent backgrounds stay transparent).
    case terminal
    /// One of the 16 ANSI colours (0-15).
    case ansi(Int)
    case rgb(UInt8, UInt8, UInt8)

    static let names = [
        "black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7,
        "bright-black": 8, "gray": 8, "bright-red": 9, "bright-green": 10, "bright-yellow": 11, "bright-blue": 12,
        "bright-magenta": 13, "bright-cyan": 14, "bright-white": 15,
    ]

    init?(_ text: String) {
        let t = text.lowercased()
        if t == "default" || t == "terminal" {
            self = .terminal
        } else if let n = Self.names[t] {
            self = .ansi(n)
        } else if t.hasPrefix("#"), t.count == 7, let v = UInt32(t.dropFirst(), radix: 16) {
            self = .rgb(UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF))
        } else {
            return nil
        }
    }

    /// The colour index for a terminal with `colors` colours (-1: the terminal's default).
    public func index(colors: Int) -> Int {
        switch self {
        case .terminal: return -1
        case .ansi(let n): return colors >= 16 ? n : n % 8
        case .rgb(let r, let g, let b):
            if colors >= 256 { return Self.xterm256(r, g, b) }
            return Self.nearestBasic(r, g, b, count: colors >= 16 ? 16 : 8)
        }
    }

    static func xterm256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        func level(_ v: UInt8) -> Int { v < 48 ? 0 : v < 115 ? 1 : (Int(v) - 35) / 40 }
        let (lr, lg, lb) = (level(r), level(g), level(b))
        let cube = 16 + 36 * lr + 6 * lg + lb
        let gray = (Int(r) + Int(g) + Int(b)) / 3
        let grayIndex = gray > 238 ? 23 : max(0, (gray - 3) / 10)
        let levels = [0, 95, 135, 175, 215, 255]
        let cubeDistance = sq(Int(r) - levels[lr]) + sq(Int(g) - levels[lg]) + sq(Int(b) - levels[lb])
        let grayValue = 8 + grayIndex * 10
        let grayDistance = sq(Int(r) - grayValue) + sq(Int(g) - grayValue) + sq(Int(b) - grayValue)
        return grayDistance < cubeDistance ? 232 + grayIndex : cube
    }

    static let basic: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
        (255, 255, 255),
    ]

    static func nearestBasic(_ r: UInt8, _ g: UInt8, _ b: UInt8, count: Int) -> Int {
        var best = 0
        var bestDistance = Int.max
        for (i, c) in basic.prefix(count).enumerated() {
            let d = sq(Int(r) - c.0) + sq(Int(g) - c.1) + sq(Int(b) - c.2)
            if d < bestDistance {
                best = i
                bestDistance = d
            }
        }
        return best
    }

    static func sq(_ v: Int) -> Int { v * v }
}

/// How one role looks.
public struct RoleStyle: Sendable, Equatable {
    public var fg: ThemeColor = .terminal
    public var bg: ThemeColor = .terminal
    public var bold = false
    public var underline = false
    public var reverse = false
    public var dim = false

    /// Attribute letters for goldens: B bold, U underline, R reverse, D dim, `.` none.
    public var attributeLetter: Character {
        if reverse { return bold ? "X" : "R" }
        if bold { return underline ? "V" : "B" }
        if underline { return "U" }
        if dim { return "D" }
        return "."
    }
}

/// A theme: a style per role, from a file in `themes/`.
public struct Theme: Sendable, Equatable {
    public let name: String
    public let styles: [StyleRole: RoleStyle]

    public static let builtinNames = ["dark", "light", "high-contrast", "mono"]

    public func style(_ role: StyleRole) -> RoleStyle { styles[role] ?? styles[.normal] ?? RoleStyle() }

    /// The styles without any colour (for `NO_COLOR`, monochrome terminals).
    public var withoutColor: Theme {
        Theme(
            name: name,
            styles: styles.mapValues { s in
                var m = s
                m.fg = .terminal
                m.bg = .terminal
                return m
            })
    }

    /// Parses a theme file. Unknown roles or keys and bad colours name the key at fault.
    public static func parse(_ text: String, name: String, file: String) throws(ConfigError) -> Theme {
        try checkTOMLText(text, file: file)
        let table: JSONObject
        do {
            table = try TOML.parse(text)
        } catch {
            throw ConfigError(file: file, message: error.description)
        }
        var styles: [StyleRole: RoleStyle] = [:]
        for key in table.keys {
            guard key == "roles" || key == "name" || key == "description" else {
                throw ConfigError(file: file, message: "\(key): unknown key; a theme has name, description and [roles]")
            }
        }
        guard let roles = table["roles"]?.objectValue else {
            throw ConfigError(file: file, message: "[roles] is missing")
        }
        for roleName in roles.keys {
            guard let role = StyleRole.allCases.first(where: { $0.rawValue == roleName }) else {
                throw ConfigError(file: file, message: "roles.\(roleName): unknown role")
            }
            guard let entry = roles[roleName]?.objectValue else {
                throw ConfigError(
                    file: file, message: "roles.\(roleName): must be a table such as { fg = \"#ffffff\" }")
            }
            var style = RoleStyle()
            for key in entry.keys {
                let value = entry[key]
                switch key {
                case "fg", "bg":
                    guard let text = value?.stringValue, let color = ThemeColor(text) else {
                        throw ConfigError(
                            file: file,
                            message: "roles.\(roleName).\(key): a colour is #rrggbb, an ANSI name or \"default\"")
                    }
                    if key == "fg" { style.fg = color } else { style.bg = color }
                case "bold", "underline", "reverse", "dim":
                    guard let flag = value?.boolValue else {
                        throw ConfigError(file: file, message: "roles.\(roleName).\(key): must be true or false")
                    }
                    switch key {
                    case "bold": style.bold = flag
                    case "underline": style.underline = flag
                    case "reverse": style.reverse = flag
                    default: style.dim = flag
                    }
                default:
                    throw ConfigError(
                        file: file,
                        message: "roles.\(roleName).\(key): unknown key; use fg, bg, bold, underline, reverse, dim")
                }
            }
            styles[role] = style
        }
        guard styles[.normal] != nil else { throw ConfigError(file: file, message: "roles.normal: is required") }
        return Theme(name: name, styles: styles)
    }

    /// Finds `name`.toml in `directories` (first match wins) and parses it.
    public static func load(_ name: String, directories: [String]) throws(ConfigError) -> Theme {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ConfigError(file: name, message: "a theme name is letters, digits, - and _")
        }
        for dir in directories {
            let path = (dir as NSString).appendingPathComponent("\(name).toml")
            if let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) {
                return try parse(text, name: name, file: path)
            }
        }
        throw ConfigError(file: "\(name).toml", message: "no such theme in \(directories.joined(separator: ", "))")
    }

    /// Where theme files are looked for: an explicit directory, the data directory's `themes/`, and the `themes/`
    /// that ships next to the executable (a source checkout's, or an installed `share/knoxcall/themes`).
    public static func searchDirectories(dataDirectory: String, explicit: String?) -> [String] {
        var dirs: [String] = []
        if let explicit { dirs.append(explicit) }
        dirs.append((dataDirectory as NSString).appendingPathComponent("themes"))
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        dirs.append(exe.appendingPathComponent("../../themes").standardized.path)
        dirs.append(exe.appendingPathComponent("../../../themes").standardized.path)
        dirs.append(exe.appendingPathComponent("../share/knoxcall/themes").standardized.path)
        dirs.append(FileManager.default.currentDirectoryPath + "/themes")
        return dirs
    }

    /// A minimal style set used when no theme file can be found: attributes only, so it works everywhere.
    public static let fallback = Theme(
        name: "fallback",
        styles: [
            .normal: RoleStyle(), .header: RoleStyle(bold: true, reverse: true),
            .tabActive: RoleStyle(bold: true, reverse: true),
            .rowSelected: RoleStyle(reverse: true), .testBanner: RoleStyle(bold: true, reverse: true),
            .liveBadge: RoleStyle(bold: true, reverse: true), .testBadge: RoleStyle(bold: true, reverse: true),
            .error: RoleStyle(bold: true), .fieldFocused: RoleStyle(underline: true),
            .columnHeader: RoleStyle(bold: true),
            .hintKey: RoleStyle(bold: true), .dialogTitle: RoleStyle(bold: true), .status5xx: RoleStyle(bold: true),
            .liveRule: RoleStyle(bold: true), .fieldError: RoleStyle(bold: true),
        ])
}
