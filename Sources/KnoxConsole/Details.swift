import KnoxCore

/// The label/value lines of a detail page.
enum Details {
    /// Fields shown first, in this order; the rest follow, without empty values and internal bookkeeping.
    static func priority(_ pane: Pane) -> [String] {
        switch pane {
        case .routes:
            // A route's own fields, then the settings its descriptor marks prominent, in the descriptor's order.
            ["name", "slug", "target_base_url", "base_environment", "enabled", "requires_clients"]
                + RouteSettings.fields.filter { $0.console.prominent && $0.name != "target_base_url" }.map(\.name)
                + ["environments", "clients"]
        case .secrets:
            ["name", "secret_type", "base_environment", "description", "environments", "used_by", "expires_at"]
        case .clients: ["name", "type", "ip_address", "enabled", "description", "routes"]
        default: ["name", "action", "resource_type"]
        }
    }

    static let hidden: Set<String> = ["tenant_id", "favicon_data", "favicon_url", "favicon_updated_at"]

    /// Keys left out of one-line summaries of nested items (ids and bookkeeping; the names say the same).
    static func noise(_ key: String) -> Bool {
        hidden.contains(key) || key == "id" || key.hasSuffix("_id") || key.hasSuffix("_at")
            || key == "sandbox"
    }

    static func lines(_ pane: Pane, _ row: JSONValue) -> [(String, String)] {
        var out: [(String, String)] = []
        guard let object = row.objectValue else { return out }
        func add(_ key: String, _ value: JSONValue) {
            switch value {
            case .object(let o) where !o.isEmpty:
                out.append((key, ""))
                for (k, v) in o { out.append(("  \(k)", display(v))) }
            case .array(let items) where items.contains(where: { $0.objectValue != nil }):
                out.append((key, ""))
                for item in items {
                    let summary = (item.objectValue ?? JSONObject()).filter { !$0.value.isNull && !noise($0.key) }
                        .map { "\($0.key)=\(display($0.value))" }.joined(separator: "  ")
                    out.append(("  -", summary))
                }
            default:
                out.append((key, display(value)))
            }
        }
        let first = priority(pane)
        for key in first { if let value = object[key] { add(key, value) } }
        for (key, value) in object where !first.contains(key) && !hidden.contains(key) {
            // Unset optional fields would only be noise after the important ones.
            if value.isNull || value.arrayValue?.isEmpty == true || value.objectValue?.isEmpty == true { continue }
            add(key, value)
        }
        if pane == .secrets {
            out.append(("value", "never shown: set a new one with v"))
        }
        return out
    }

    static func display(_ value: JSONValue) -> String {
        switch value {
        case .null: return "-"
        case .bool(let b): return b ? "yes" : "no"
        case .number(let n): return n.literal
        case .string(let s): return s
        case .array(let items): return items.isEmpty ? "(none)" : items.map(display).joined(separator: ", ")
        case .object(let o): return o.isEmpty ? "{}" : JSONValue.object(o).serialized()
        }
    }

    static func logLines(_ e: RequestLogEntry, routeName: String?) -> [(String, String)] {
        var out: [(String, String)] = [
            ("request_id", e.requestId), ("time", Timestamp.format(millis: e.ts)), ("method", e.method),
            ("path", e.path),
            ("status", e.statusCode.map(String.init) ?? "-"),
            ("upstream status", e.upstreamStatus.map(String.init) ?? "-"),
            ("latency", e.latencyMs.map { "\($0) ms" } ?? "-"),
            ("upstream latency", e.upstreamLatencyMs.map { "\($0) ms" } ?? "-"),
            ("route", routeName ?? e.routeId ?? "-"), ("environment", e.environment ?? "-"),
            ("client ip", e.srcIp ?? "-"), ("upstream host", e.upstreamHost ?? "-"), ("error", e.error ?? "-"),
            ("identified by", e.identificationMethod ?? "-"), ("client", e.matchedClientId ?? "-"),
            ("rate limited", e.rateLimited ? "yes" : "no"),
            ("signature", e.signatureValid.map { $0 ? "valid" : "invalid" } ?? "-"),
            ("origin", e.clientOrigin), ("headers", e.requestHeaders == nil ? "(not recorded)" : ""),
        ]
        for line in (e.requestHeaders ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            out.append(("  \(parts.first ?? "")", parts.count > 1 ? parts[1].trimmingASCIIWhitespace() : ""))
        }
        return out
    }
}

/// Fixed rows of the layout (shared by render and mouse hit-testing).
enum Layout {
    static let headerRow = 0
    static let bannerRow = 1
    static let tabRow = 2
    static let titleRow = 3
    static let columnRow = 4
    static let firstRow = 5
    static let minWidth = 80
    static let minHeight = 24

    /// Tab labels with their start columns.
    static var tabs: [(pane: Pane, x: Int, label: String)] {
        var x = 1
        return Pane.allCases.map { pane in
            let label = " \(pane.rawValue) \(pane.tab) "
            defer { x += TextWidth.of(label) + 1 }
            return (pane, x, label)
        }
    }

    static func tab(at x: Int) -> Pane? {
        tabs.first { x >= $0.x && x < $0.x + TextWidth.of($0.label) }?.pane
    }
}
