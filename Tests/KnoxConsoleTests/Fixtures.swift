import Foundation
import KnoxConsole
import KnoxCore
import KnoxEngine
import Testing

func json(_ text: String) -> JSONValue {
    do {
        return try JSONValue.parse(text)
    } catch {
        Issue.record("fixture is not JSON: \(error)")
        return .null
    }
}

/// Fixed rows shaped as the API returns them, so screens are the same on every run.
enum Fixture {
    static let routes: [PaneRow] = rows(
        .routes,
        [
            json(
                #"{"id":"r-1","name":"GitHub API","slug":"github-api","target_base_url":"https://api.github.com","base_environment":"production","enabled":true,"requires_clients":false,"environment_override_count":1}"#
            ),
            json(
                #"{"id":"r-2","name":"Stripe charges","slug":"stripe","target_base_url":"https://api.stripe.com/v1","base_environment":"production","enabled":true,"requires_clients":true,"environment_override_count":0}"#
            ),
            json(
                #"{"id":"r-3","name":"決済 API","slug":"kessai","target_base_url":"https://pay.example.jp","base_environment":"staging","enabled":false,"requires_clients":false,"environment_override_count":2}"#
            ),
        ])
    static let secrets: [PaneRow] = rows(
        .secrets,
        [
            json(
                #"{"id":"s-1","name":"GITHUB_TOKEN","secret_type":"string","base_environment":"production","environment_count":2,"updated_at":"2026-11-20T09:15:00.000Z"}"#
            ),
            json(
                #"{"id":"s-2","name":"STRIPE_KEY","secret_type":"string","base_environment":"production","environment_count":1,"updated_at":"2026-11-21T17:42:10.000Z"}"#
            ),
        ])
    static let clients: [PaneRow] = rows(
        .clients,
        [
            json(
                #"{"id":"c-1","name":"office","type":"server","ip_address":"10.0.0.0/24","enabled":true,"created_at":"2026-11-19T08:00:00.000Z"}"#
            ),
            json(
                #"{"id":"c-2","name":"ci-runner","type":"server","ip_address":"2001:db8::/48","enabled":false,"created_at":"2026-11-19T08:30:00.000Z"}"#
            ),
        ])
    static let environments: [PaneRow] = rows(
        .environments,
        [
            json(
                ##"{"id":"e-1","name":"production","display_name":"Production","is_default":true,"color":"#22c55e","created_at":"2026-11-18T12:00:00.000Z"}"##
            ),
            json(
                ##"{"id":"e-2","name":"staging","display_name":"Staging","is_default":false,"color":"#f59e0b","created_at":"2026-11-18T12:05:00.000Z"}"##
            ),
        ])
    static let apiKeys: [PaneRow] = rows(
        .apiKeys,
        [
            json(
                #"{"id":"k-1","name":"deploy bot","key_prefix":"tk_live_3f9a1c","key_type":"standard","active":true,"expires_at":null}"#
            ),
            json(
                #"{"id":"k-2","name":"old laptop","key_prefix":"tk_live_77b0e2","key_type":"standard","active":false,"expires_at":"2027-01-01T00:00:00.000Z"}"#
            ),
        ])
    static let audit: [PaneRow] = rows(
        .audit,
        [
            json(
                #"{"id":"a-2","action":"secret.value_updated","resource_type":"secret","actor":"console","created_at":"2026-11-22T10:01:00.000Z"}"#
            ),
            json(
                #"{"id":"a-1","action":"route.created","resource_type":"route","actor":"api_key:deploy bot","created_at":"2026-11-22T10:00:00.000Z"}"#
            ),
        ])

    static func rows(_ pane: Pane) -> [PaneRow] {
        switch pane {
        case .routes: routes
        case .secrets: secrets
        case .clients: clients
        case .environments: environments
        case .apiKeys: apiKeys
        case .audit: audit
        case .logs: []
        }
    }

    /// Rows of `pane` from JSON shaped as the API returns it: the JSON is each row's wire form, and its typed value
    /// (what the engine's handlers answer) is read from the same JSON, so the two cannot disagree.
    static func rows(_ pane: Pane, _ wires: [JSONValue]) -> [PaneRow] {
        wires.map { PaneRow(typed(pane, $0), wire: $0) }
    }

    /// A list row of `pane` holding what `wire` says (absent members take the domain type's blank values).
    static func typed(_ pane: Pane, _ wire: JSONValue) -> PaneRow.Value {
        func text(_ key: String) -> String { wire[key]?.stringValue ?? "" }
        func time(_ key: String) -> Int64 { wire[key]?.stringValue.flatMap(Timestamp.parse) ?? 0 }
        func flag(_ key: String, _ otherwise: Bool) -> Bool { wire[key]?.boolValue ?? otherwise }
        switch pane {
        case .routes:
            var route = Route(
                id: text("id"), name: text("name"), slug: text("slug"), baseEnvironment: text("base_environment"),
                createdAt: 0, updatedAt: 0)
            route.enabled = flag("enabled", true)
            route.requiresClients = flag("requires_clients", false)
            var base = RouteSettings.baseDefaults
            base.targetBaseURL = wire["target_base_url"]?.stringValue
            let overrides = (0..<(wire["environment_override_count"]?.intValue ?? 0)).map { i in
                RouteEnvironmentConfig(
                    id: "\(route.id)-o\(i)", routeId: route.id, environmentName: "override-\(i)",
                    settings: RouteSettings(), createdAt: 0, updatedAt: 0)
            }
            let config = RouteEnvironmentConfig(
                id: "\(route.id)-base", routeId: route.id, environmentName: route.baseEnvironment, settings: base,
                createdAt: 0, updatedAt: 0)
            return .route(RouteView(route: route, configs: [config] + overrides))
        case .secrets:
            let secret = Secret(
                id: text("id"), name: text("name"),
                secretType: Secret.Kind(rawValue: text("secret_type")) ?? .string,
                baseEnvironment: text("base_environment"), createdAt: time("created_at"),
                updatedAt: time("updated_at"))
            return .secret(SecretSummary(secret: secret, environmentCount: wire["environment_count"]?.intValue ?? 0))
        case .clients:
            return .client(
                Client(
                    id: text("id"), name: text("name"), type: Client.Kind(rawValue: text("type")) ?? .server,
                    ipAddress: text("ip_address"), enabled: flag("enabled", true), createdAt: time("created_at"),
                    updatedAt: time("created_at")))
        case .environments:
            return .environment(
                Environment(
                    id: text("id"), name: text("name"), displayName: text("display_name"),
                    color: wire["color"]?.stringValue ?? Environment.defaultColor, isDefault: flag("is_default", false),
                    createdAt: time("created_at"), updatedAt: time("created_at")))
        case .apiKeys:
            return .apiKey(
                ApiKey(
                    id: text("id"), keyId: text("id"), keyPrefix: text("key_prefix"),
                    keyType: ApiKey.Kind(rawValue: text("key_type")) ?? .standard, name: text("name"), keyHash: [],
                    revokedAt: flag("active", true) ? nil : 1, createdAt: 0,
                    expiresAt: wire["expires_at"]?.stringValue.flatMap(Timestamp.parse)))
        case .audit, .logs:
            return .audit(
                AuditEntry(
                    id: text("id"), action: text("action"), resourceType: text("resource_type"), resourceId: nil,
                    details: JSONObject(), ipAddress: nil, actor: text("actor"), apiKeyId: nil,
                    createdAt: time("created_at")))
        }
    }

    /// 2026-11-22 12:00:00 UTC.
    static let noon: Int64 = 1_795_348_800_000

    static func logs(count: Int, from seq: Int64 = 1) -> [RequestLogEntry] {
        (0..<count).map { i in
            let n = seq + Int64(i)
            let status = [200, 201, 404, 502, 200, 429][Int(n) % 6]
            return RequestLogEntry(
                seq: n, requestId: "req-\(n)", routeId: ["r-1", "r-2", "r-3"][Int(n) % 3], ts: noon + n * 1000,
                srcIp: "127.0.0.1", method: ["GET", "POST", "GET", "PUT"][Int(n) % 4], path: "/v1/items/\(n)?page=2",
                statusCode: status, latencyMs: Int(n % 50) + 3, upstreamLatencyMs: Int(n % 50),
                upstreamHost: "api.example.com", upstreamStatus: status == 502 ? nil : status,
                error: status == 502 ? "upstream_unreachable" : status == 429 ? "rate_limited" : nil,
                environment: "production",
                requestHeaders: "Host: 127.0.0.1:8800\nx-knoxcall-key: ‹redacted›\nAccept: application/json\n")
        }
    }

    /// A console with every pane loaded and fixed figures in the header.
    static func state(_ mode: Mode, pane: Pane, width: Int, height: Int) -> ConsoleState {
        var s = ConsoleState(
            mode: mode,
            environment: Deployment(
                dataDirectory: "~/.knoxcall",
                apiAddress: [.live: "127.0.0.1:8700", .test: "127.0.0.1:8701"],
                proxyAddress: [.live: "127.0.0.1:8800", .test: "127.0.0.1:8801"]),
            themeName: "mono", width: width, height: height)
        s = reduce(s, .resize(width: width, height: height))
        for p in Pane.allCases where p != .logs {
            // Test mode starts empty, as a fresh sandbox does.
            s = reduce(s, .loaded(mode, p, .success(mode == .live ? rows(p) : [])))
        }
        var context = FormContext()
        context.environments = ["production", "staging"]
        context.secrets = [("GITHUB_TOKEN", "s-1"), ("STRIPE_KEY", "s-2")]
        context.clients = [("ci-runner", "c-2"), ("office", "c-1")]
        s = reduce(
            s, .context(mode, context, routeNames: ["r-1": "GitHub API", "r-2": "Stripe charges", "r-3": "決済 API"]))
        if mode == .live { s = reduce(s, .logRows(.live, logs(count: 40))) }
        s = reduce(
            s,
            .stats(mode, HeaderStats(requestsPerSecond: mode == .live ? 42 : 0, errorRate: mode == .live ? 0.031 : 0)))
        s = reduce(s, .key(.char(Character(String(pane.rawValue)))))
        return s
    }

    static func reduce(_ s: ConsoleState, _ e: ConsoleEvent) -> ConsoleState { Console.reduce(s, e).0 }
}

/// Sends events through the reducer, collecting the effects it asks for.
struct Driver {
    var state: ConsoleState
    var effects: [ConsoleEffect] = []

    init(_ state: ConsoleState) { self.state = state }

    @discardableResult
    mutating func send(_ event: ConsoleEvent) -> [ConsoleEffect] {
        let (next, out) = Console.reduce(state, event)
        state = next
        effects += out
        return out
    }

    @discardableResult
    mutating func press(_ keys: Key...) -> [ConsoleEffect] {
        keys.flatMap { send(.key($0)) }
    }

    mutating func type(_ text: String) {
        for c in text { send(.key(.char(c))) }
    }

    func screen(_ width: Int? = nil, _ height: Int? = nil) -> String {
        Console.render(state, width: width ?? state.width, height: height ?? state.height).text
    }
}

extension String {
    func line(_ n: Int) -> String {
        let lines = split(separator: "\n", omittingEmptySubsequences: false)
        return lines.indices.contains(n) ? String(lines[n]) : ""
    }
}
