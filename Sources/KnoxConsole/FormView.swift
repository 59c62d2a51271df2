import Foundation
import KnoxCore

/// Draws an open form: one line per field, then the focused field's help, error, editor and completions.
enum FormView {
    static func draw(_ g: inout Grid, _ s: ConsoleState, _ form: FormState) {
        let prefix = s.mode == .live ? "[LIVE] " : "[TEST] "
        g.put(" \(prefix)\(form.kind.title)\(form.dirty ? " *" : "")", x: 0, y: Layout.titleRow, role: .paneTitle)
        let labelWidth = 18
        let valueWidth = g.width - labelWidth - 6
        let bottomRows = 7
        let fieldRows = max(1, g.height - Layout.columnRow - 1 - bottomRows)
        let first = max(0, form.focus - fieldRows + 1)
        for (offset, field) in form.fields.dropFirst(first).prefix(fieldRows).enumerated() {
            let index = first + offset
            let y = Layout.columnRow + offset
            let focused = index == form.focus
            let hasError = form.errors[field.name] != nil
            g.put(TextWidth.pad(field.label, to: labelWidth), x: 2, y: y, role: hasError ? .fieldError : .fieldLabel)
            let role: StyleRole = focused ? .fieldFocused : .field
            g.fill(row: y, from: labelWidth + 3, to: labelWidth + 3 + valueWidth, role: role)
            g.put(
                display(field, focused: focused, width: valueWidth), x: labelWidth + 3, y: y, role: role,
                maxWidth: valueWidth)
            if field.name == "ip_address", !field.value.isEmpty {
                let ok = (try? IPRange.parse(field.value.trimmingASCIIWhitespace()).get()) != nil
                g.put(ok ? " ✓" : " ✗", x: labelWidth + 3 + valueWidth, y: y, role: ok ? .success : .error)
            }
        }
        // The focused field's details.
        var y = g.height - 1 - bottomRows
        let field = form.fields[form.focus]
        g.put(String(repeating: "─", count: g.width - 2), x: 1, y: y, role: .border)
        y += 1
        if let error = form.errors[field.name] ?? form.generalError {
            g.put(" ✗ \(error)", x: 1, y: y, role: .error, maxWidth: g.width - 2)
            y += 1
        } else if field.name == "ip_address", !field.value.isEmpty {
            switch IPRange.parse(field.value.trimmingASCIIWhitespace()) {
            case .success(let range): g.put(" ✓ \(range)", x: 1, y: y, role: .success)
            case .failure(.malformed): g.put(" ✗ not an IPv4/IPv6 address or CIDR range", x: 1, y: y, role: .error)
            case .failure(.hostBitsSet(let suggestion)):
                g.put(" ✗ host bits set; did you mean \(suggestion)?", x: 1, y: y, role: .error)
            }
            y += 1
        }
        if form.submitting {
            g.put(" saving…", x: 1, y: y, role: .muted)
            y += 1
        }
        if !field.help.isEmpty && y < g.height - 1 {
            g.put(" " + field.help, x: 1, y: y, role: .muted, maxWidth: g.width - 2)
            y += 1
        }
        if field.kind == .multiline {
            let lines = field.value.split(separator: "\n", omittingEmptySubsequences: false)
            for line in lines.suffix(max(0, g.height - 1 - y)) {
                g.put("   " + line, x: 1, y: y, role: .field, maxWidth: g.width - 2)
                y += 1
            }
        }
        let suggestions = Console.completions(field, s.formContext)
        if !suggestions.isEmpty && y < g.height - 1 {
            g.put(
                " tab → " + suggestions.prefix(6).joined(separator: "  "), x: 1, y: g.height - 2, role: .match,
                maxWidth: g.width - 2)
        }
    }

    /// A field's value as shown. Masked values are never shown, not even their length.
    static func display(_ field: FormField, focused: Bool, width: Int) -> String {
        switch field.kind {
        case .masked:
            return field.value.isEmpty ? (focused ? "▏" : "") : "••••••••" + (focused ? "▏" : "")
        case .toggle:
            return field.value == "true" ? "[x] yes" : "[ ] no"
        case .choice(let options):
            let label =
                options.first { $0.value == field.value }?.label ?? (field.value.isEmpty ? "(none)" : field.value)
            return "‹ \(label) ›"
        case .multiline:
            let lines = field.value.split(separator: "\n", omittingEmptySubsequences: false)
            let summary = lines.count > 1 ? "\(lines[0]) … (+\(lines.count - 1) lines)" : String(lines.first ?? "")
            return summary + (focused ? "▏" : "")
        case .text:
            guard focused else { return field.value }
            let i = field.value.index(field.value.startIndex, offsetBy: min(field.cursor, field.value.count))
            let shown = String(field.value[..<i]) + "▏" + String(field.value[i...])
            // Keep the cursor visible in long values.
            let overflow = TextWidth.of(shown) - width
            return overflow > 0 ? String(shown.dropFirst(overflow)) : shown
        }
    }
}
