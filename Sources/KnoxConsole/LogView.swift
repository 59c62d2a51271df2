import Foundation
import KnoxCore

/// The live request log pane.
enum LogView {
    static func draw(_ g: inout Grid, _ s: ConsoleState) {
        let log = s.log
        let names = s.routeNames[s.mode] ?? [:]
        let count = log.visibleCount
        var title = " Logs \(count)"
        if count != log.rows.count { title += " of \(log.rows.count)" }
        title += log.follow ? " · following" : " · paused"
        if !log.follow && log.newWhilePaused > 0 { title += " ▼ \(log.newWhilePaused) new (G resumes)" }
        var filters: [String] = []
        if let c = log.statusClass { filters.append("\(c)xx") }
        if let m = log.method { filters.append(m) }
        if let r = log.routeId { filters.append("route \(names[r] ?? r)") }
        if !log.text.isEmpty || s.editingFilter { filters.append("“\(log.text)\(s.editingFilter ? "▏" : "")”") }
        if !filters.isEmpty { title += " · " + filters.joined(separator: " · ") }
        g.put(title, x: 0, y: Layout.titleRow, role: .paneTitle, maxWidth: g.width)
        let columns = Columns.shown(.logs, width: g.width)
        let widths = Column.layout(columns, total: g.width - 2, custom: Columns.custom(s, .logs))
        Console.columnHeaders(&g, s, columns, widths)
        if count == 0 {
            g.put(
                log.rows.isEmpty ? "Waiting for requests on the data plane…" : "No request matches the filters", x: 2,
                y: Layout.firstRow + 1, role: .muted)
            return
        }
        for i in 0..<s.listHeight {
            let index = log.scroll + i
            guard index < count else { break }
            let e = log.visibleRow(index)
            let y = Layout.firstRow + i
            let selected = index == log.selection
            let statusRole: StyleRole
            switch (e.statusCode ?? 0) / 100 {
            case 2: statusRole = .status2xx
            case 3: statusRole = .status3xx
            case 4: statusRole = .status4xx
            default: statusRole = .status5xx
            }
            let rowRole: StyleRole = selected ? .rowSelected : .row
            g.fill(row: y, role: rowRole)
            let status = e.statusCode.map { String($0) } ?? "-"
            let latency = e.latencyMs.map { String($0) } ?? "-"
            let route = names[e.routeId ?? ""] ?? "-"
            var cells: [(String, StyleRole)] = [
                (clock(e.ts), rowRole), (e.method, rowRole), (status, selected ? rowRole : statusRole),
                (latency, rowRole),
                (route, rowRole), (e.path, rowRole), (e.srcIp ?? "-", rowRole),
            ]
            if columns.count > 7 { cells.append((e.error ?? "", selected ? rowRole : .error)) }
            var cx = 1
            for ((text, role), width) in zip(cells, widths) {
                g.put(TextWidth.pad(text, to: width), x: cx, y: y, role: role)
                cx += width + 1
            }
        }
    }

    /// `HH:MM:SS` in UTC.
    static func clock(_ millis: Int64) -> String {
        let seconds = (millis / 1000) % 86_400
        return String(format: "%02d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60)
    }
}
