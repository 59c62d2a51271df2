import CNCurses
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The only code that touches curses: it paints grids and turns key presses into `Key`s. Used from one thread.
final class CursesBackend {
    private var previous: Grid?
    private var pairs: [StyleRole: (pair: Int16, attributes: UInt32)] = [:]
    private(set) var colors = 0
    private var started = false
    let useMouse: Bool
    let useColor: Bool
    let utf8: Bool

    init(useMouse: Bool, useColor: Bool) {
        setlocale(LC_ALL, "")
        self.useMouse = useMouse
        self.useColor = useColor
        utf8 = cn_locale_is_utf8() != 0
    }

    /// Whether colours will be used (known once curses has started).
    var colorCapable: Bool { useColor && (!started || has_colors()) }

    /// Enters curses mode. Crashes restore the terminal through signal handlers installed here.
    func start(theme: Theme) {
        guard !started else { return }
        _ = initscr()
        started = true
        cn_install_crash_restore()
        raw()
        noecho()
        nonl()
        keypad(cn_stdscr(), true)
        curs_set(0)
        set_escdelay(25)
        wtimeout(cn_stdscr(), 16)
        if useMouse {
            _ = mousemask(mmask_t(CN_ALL_MOUSE_EVENTS), nil)
            mouseinterval(0)
        }
        apply(theme)
    }

    /// Leaves curses mode and gives the terminal back as it was.
    func stop() {
        guard started else { return }
        started = false
        endwin()
    }

    var size: (width: Int, height: Int) {
        var h: Int32 = 0
        var w: Int32 = 0
        cn_getmaxyx(cn_stdscr(), &h, &w)
        return (Int(w), Int(h))
    }

    /// Sets up one colour pair per role for the terminal's colour depth (or attributes only).
    func apply(_ theme: Theme) {
        pairs = [:]
        var effective = theme
        if useColor && has_colors() {
            start_color()
            use_default_colors()
            colors = Int(cn_colors())
        } else {
            colors = 0
            effective = theme.withoutColor
        }
        for (i, role) in StyleRole.allCases.enumerated() {
            let style = effective.style(role)
            var attributes = CN_A_NORMAL
            if style.bold { attributes |= CN_A_BOLD }
            if style.underline { attributes |= CN_A_UNDERLINE }
            if style.reverse { attributes |= CN_A_REVERSE }
            if style.dim { attributes |= CN_A_DIM }
            var pair: Int16 = 0
            if colors >= 8 {
                pair = Int16(i + 1)
                init_pair(pair, Int16(style.fg.index(colors: colors)), Int16(style.bg.index(colors: colors)))
            }
            pairs[role] = (pair, attributes)
        }
        previous = nil
    }

    /// Paints `grid`, touching only the cells that changed since the last frame.
    func draw(_ grid: Grid) {
        let full = previous == nil || previous?.width != grid.width || previous?.height != grid.height
        if full { werase(cn_stdscr()) }
        for y in 0..<grid.height {
            var x = 0
            while x < grid.width {
                let cell = grid[x, y]
                if cell.continuation || (!full && previous?[x, y] == cell) {
                    x += 1
                    continue
                }
                let style = pairs[cell.role] ?? (0, CN_A_NORMAL)
                attr_set(attr_t(style.attributes), style.pair, nil)
                _ = mvaddstr(Int32(y), Int32(x), glyph(cell.text))
                x += 1
            }
        }
        attr_set(attr_t(CN_A_NORMAL), 0, nil)
        refresh()
        previous = grid
    }

    /// Line-drawing and symbols have ASCII stand-ins when the locale is not UTF-8.
    private func glyph(_ text: String) -> String {
        if utf8 || text.allSatisfy(\.isASCII) { return text }
        switch text {
        case "─": return "-"
        case "●", "■": return "*"
        case "▲": return "^"
        case "▼": return "v"
        case "▏": return "|"
        case "…": return "~"
        case "•": return "*"
        case "✓": return "+"
        case "✗": return "x"
        case "›", "→": return ">"
        case "‹": return "<"
        default: return "?"
        }
    }

    /// Forces a complete repaint on the next draw (after a resize).
    func invalidate() {
        previous = nil
        clearok(cn_stdscr(), true)
    }

    enum Input {
        case key(Key)
        case mouse(MouseAction)
        case resize
    }

    private var waiting = true

    /// The next input, or nil after the short timeout (about 16 ms), or at once when `wait` is false.
    func read(wait: Bool = true) -> Input? {
        if wait != waiting {
            waiting = wait
            wtimeout(cn_stdscr(), wait ? 16 : 0)
        }
        var wide: wint_t = 0
        let rc = wget_wch(cn_stdscr(), &wide)
        if rc == ERR { return nil }
        let code = Int32(wide)
        if rc == KEY_CODE_YES {
            switch code {
            case KEY_RESIZE: return .resize
            case KEY_UP: return .key(.up)
            case KEY_DOWN: return .key(.down)
            case KEY_LEFT: return .key(.left)
            case KEY_RIGHT: return .key(.right)
            case KEY_PPAGE: return .key(.pageUp)
            case KEY_NPAGE: return .key(.pageDown)
            case KEY_HOME: return .key(.home)
            case KEY_END: return .key(.end)
            case KEY_BACKSPACE: return .key(.backspace)
            case KEY_DC: return .key(.delete)
            case KEY_ENTER: return .key(.enter)
            case KEY_BTAB: return .key(.backTab)
            case KEY_MOUSE: return mouse()
            default: return nil
            }
        }
        switch code {
        case 9: return .key(.tab)
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 8, 127: return .key(.backspace)
        case 1...26:
            return .key(.ctrl(Character(Unicode.Scalar(UInt8(code) + 96))))
        default:
            guard let scalar = Unicode.Scalar(UInt32(code)), scalar.value >= 32 else { return nil }
            return .key(.char(Character(scalar)))
        }
    }

    private func mouse() -> Input? {
        var event = MEVENT()
        guard getmouse(&event) == OK else { return nil }
        let state = UInt(event.bstate)
        if state & UInt(CN_BUTTON4_PRESSED) != 0 { return .mouse(.wheelUp) }
        if CN_BUTTON5_PRESSED != 0 && state & UInt(CN_BUTTON5_PRESSED) != 0 { return .mouse(.wheelDown) }
        if state & UInt(CN_BUTTON1_PRESSED) != 0 || state & UInt(CN_BUTTON1_CLICKED) != 0 {
            return .mouse(.click(x: Int(event.x), y: Int(event.y)))
        }
        return nil
    }

    /// Puts text on the system clipboard through the terminal (OSC 52), between frames.
    func copyToClipboard(_ text: String) {
        let sequence = "\u{1B}]52;c;\(Data(text.utf8).base64EncodedString())\u{07}"
        sequence.withCString { cn_write_tty($0, strlen($0)) }
    }
}
