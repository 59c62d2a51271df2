/// What a cell means; the theme decides how each role looks (colour, bold, reverse…).
public enum StyleRole: String, Sendable, CaseIterable {
    case normal, muted, header, brand, liveBadge, testBadge, testBanner, liveRule
    case tab, tabActive, paneTitle, columnHeader, row, rowSelected, rowAlternate
    case status2xx, status3xx, status4xx, status5xx
    case hint, hintKey, error, success, warning
    case field, fieldFocused, fieldLabel, fieldError, dialog, dialogTitle, border, masked, match
}

/// One character cell: a grapheme and its role. A wide grapheme occupies two cells; the second is a continuation.
public struct Cell: Sendable, Equatable {
    public var text: String
    public var role: StyleRole
    /// True for the right half of a wide character (drawn by its left half).
    public var continuation: Bool

    public static let blank = Cell(text: " ", role: .normal, continuation: false)
}

/// A screen as values: the pure `render` fills one, the curses backend paints it, tests read it as text.
public struct Grid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Fills a row range with `role` (spaces).
    public mutating func fill(row y: Int, from x0: Int = 0, to x1: Int? = nil, role: StyleRole) {
        guard y >= 0, y < height else { return }
        for x in max(0, x0)..<min(width, x1 ?? width) { self[x, y] = Cell(text: " ", role: role, continuation: false) }
    }

    /// Writes `text` at (x, y), clipped to `maxWidth` columns (and the grid); returns the columns used.
    /// Wide characters take two columns and are never split at the clip edge.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, role: StyleRole, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let limit = min(width, x + (maxWidth ?? width))
        var column = x
        for character in text {
            let w = TextWidth.of(character)
            if w == 0 { continue }
            if column + w > limit { break }
            if column >= 0 {
                self[column, y] = Cell(text: String(character), role: role, continuation: false)
                if w == 2, column + 1 < width { self[column + 1, y] = Cell(text: "", role: role, continuation: true) }
            }
            column += w
        }
        return column - x
    }

    /// Sets the role of existing cells without changing their text (selection, highlights).
    public mutating func restyle(row y: Int, from x0: Int, to x1: Int, role: StyleRole) {
        guard y >= 0, y < height else { return }
        for x in max(0, x0)..<min(width, x1) { cells[y * width + x].role = role }
    }

    /// The screen as plain text, one line per row, trailing spaces kept (goldens compare exact layouts).
    public var text: String {
        var lines: [String] = []
        for y in 0..<height {
            var line = ""
            for x in 0..<width where !self[x, y].continuation { line += self[x, y].text }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The roles as one letter per cell (see `StyleRole.letter`), for goldens that check styling.
    public var roleMap: String {
        var lines: [String] = []
        for y in 0..<height {
            lines.append(String((0..<width).map { self[$0, y].role.letter }))
        }
        return lines.joined(separator: "\n")
    }
}

extension StyleRole {
    /// A one-letter code per role for role-map goldens.
    public var letter: Character {
        let table: [StyleRole: Character] = [
            .normal: ".", .muted: "m", .header: "h", .brand: "K", .liveBadge: "L", .testBadge: "T", .testBanner: "B",
            .liveRule: "R", .tab: "t", .tabActive: "A", .paneTitle: "P", .columnHeader: "C", .row: " ",
            .rowSelected: "S", .rowAlternate: ",", .status2xx: "2", .status3xx: "3", .status4xx: "4", .status5xx: "5",
            .hint: "i", .hintKey: "k", .error: "E", .success: "s", .warning: "W", .field: "f", .fieldFocused: "F",
            .fieldLabel: "l", .fieldError: "e", .dialog: "d", .dialogTitle: "D", .border: "b", .masked: "*",
            .match: "M",
        ]
        return table[self] ?? "?"
    }
}

/// Display width of characters in a terminal cell grid (a small wcwidth: East Asian wide and fullwidth forms, emoji
/// and CJK take two columns; combining marks and controls take none).
public enum TextWidth {
    public static func of(_ character: Character) -> Int {
        guard let scalar = character.unicodeScalars.first else { return 0 }
        let v = scalar.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .enclosingMark {
            return 0
        }
        if isWide(v) { return 2 }
        if character.unicodeScalars.count > 1, character.unicodeScalars.contains(where: { $0.value == 0xFE0F }) {
            return 2
        }
        return 1
    }

    public static func of(_ text: String) -> Int { text.reduce(0) { $0 + of($1) } }

    static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
            || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v)
            || (0x1F900...0x1F9FF).contains(v) || (0x20000...0x3FFFD).contains(v)
    }

    /// `text` cut to `width` columns, with `…` when it was longer.
    public static func clip(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        if of(text) <= width { return text }
        var out = ""
        var used = 0
        for character in text {
            let w = of(character)
            if used + w > width - 1 { break }
            out.append(character)
            used += w
        }
        return out + "…"
    }

    /// `text` broken into lines of at most `width` columns, at spaces where possible.
    public static func wrap(_ text: String, to width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let candidate = line.isEmpty ? word : line + " " + word
            if of(candidate) <= width {
                line = candidate
                continue
            }
            if !line.isEmpty { lines.append(line) }
            line = word
            // A word longer than the line is cut where it has to be.
            while of(line) > width {
                var head = ""
                var used = 0
                for character in line {
                    let w = of(character)
                    if used + w > width { break }
                    head.append(character)
                    used += w
                }
                lines.append(head)
                line = String(line.dropFirst(head.count))
            }
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// `text` padded with spaces (or clipped) to exactly `width` columns.
    public static func pad(_ text: String, to width: Int) -> String {
        let clipped = clip(text, to: width)
        return clipped + String(repeating: " ", count: max(0, width - of(clipped)))
    }
}
