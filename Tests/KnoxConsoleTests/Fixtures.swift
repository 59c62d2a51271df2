import Foundation
import KnoxConsole
import KnoxCore
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
    static let routes: [JSONValue] = [
        json(
            #"{"id":"r-1","name":"GitHub API","slug":"github-api","target_base_url":"https://api.github.com","base_environment":"production","enabled":true,"requires_clients":false,"environment_override_count":1}"#
        ),
        json(
            #"{"id":"r-2","name":"Stripe charges","slug":"stripe","target_base_url":"https://api.stripe.com/v1","base_environment":"production","enabled":true,"requires_clients":true,"environment_override_count":0}"#
        ),
        json(
            #"{"id":"r-3","name":"決済 API","slug":"kessai","target_base_url":"https://pay.example.jp","base_environment":"staging","enabled":false,"requires_clients":false,"environment_override_count":2}"#
        ),
    ]
    static let secrets: [JSONValue] = [
        json(
            #"{"id":"s-1","name":"GITHUB_TOKEN","secret_type":"string","base_environment":"production","environment_count":2,"updated_at":"2026-11-20T09:15:00.000Z"}"#
        ),
        json(
            #"{"id":"s-2","name":"STRIPE_KEY","secret_type":"string","base_environment":"production","environment_count":1,"updated_at":"2026-11-21T17:42:10.000Z"}"#
        ),
    ]
    static let clients: [JSONValue] = [
        json(
            #"{"id":"c-1","name":"office","type":"server","ip_address":"10.0.0.0/24","enabled":true,"created_at":"2026-11-19T08:00:00.000Z"}"#
        ),
        json(
            #"{"id":"c-2","name":"ci-runner","type":"server","ip_address":"2001:db8::/48","enabled":false,"created_at":"2026-11-19T08:30:00.000Z"}"#
        ),
    ]
    static let environments: [JSONValue] = [
        json(
            ##"{"id":"e-1","name":"production","display_name":"Production","is_default":true,"color":"#22c55e","created_at":"2026-11-18T12:00:00.000Z"}"##
        ),
        json(
            ##"{"id":"e-2","name":"staging","display_name":"Staging","is_default":false,"color":"#f59e0b","created_at":"2026-11-18T12:05:00.000Z"}"##
        ),
    ]
    static let apiKeys: [JSONValue] = [
        json(
            #"{"id":"k-1","name":"deploy bot","key_prefix":"tk_live_3f9a1c","key_type":"live","active":true,"expires_at":null}"#
        ),
        json(
            #"{"id":"k-2","name":"old laptop","key_prefix":"tk_live_77b0e2","key_type":"live","active":false,"expires_at":"2027-01-01T00:00:00.000Z"}"#
        ),
    ]
    static let audit: [JSONValue] = [
        json(
            #"{"id":"a-2","action":"secret.value_updated","resource_type":"secret","actor":"console","created_at":"2026-11-22T10:01:00.000Z"}"#
        ),
        json(
            #"{"id":"a-1","action":"route.created","resource_type":"route","actor":"api_key:deploy bot","created_at":"2026-11-22T10:00:00.000Z"}"#
        ),
    ]

    static func rows(_ pane: Pane) -> [JSONValue] {
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
