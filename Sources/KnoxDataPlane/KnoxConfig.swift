import Foundation
import KnoxCore

/// Settings from `<data>/config.toml` (all optional) and command-line flags.
///
/// ```toml
/// [listen]
/// live_api = "127.0.0.1:8700"
/// test_api = "127.0.0.1:8701"
/// live_proxy = "127.0.0.1:8800"
/// test_proxy = "127.0.0.1:8801"
///
/// [limits]            # plan quotas per mode; absent = unlimited
/// routes = 100
///
/// [management]        # default per-key rate limit of the management API, and its listeners' limits
/// rate_limit_requests = 1000
/// rate_limit_window_sec = 60
/// live_public_url = "https://knox.example.com"   # where clients reach the Live API (the OAuth issuer)
/// max_connections = 1000                         # and head_timeout_sec, idle_timeout_sec, body_stall_timeout_sec
///
/// [data_plane]
/// trusted_proxies = ["10.0.0.0/8"]   # proxies whose X-Forwarded-For is believed
/// max_connections = 4000             # per listener; default: a fifth of the open-file limit
/// head_timeout_sec = 10              # a request head must be in within this long
/// idle_timeout_sec = 60              # a keep-alive connection may sit idle this long
/// body_stall_timeout_sec = 30        # a request body may pause this long
/// upstream_connect_timeout_sec = 10
/// max_hops = 3                       # KnoxCall hops a request may already have passed (Via)
///
/// [clients]
/// widest_ipv4_prefix = 8   # a wider client address needs "allow_wide_range": true
/// widest_ipv6_prefix = 32
///
/// [tenant]
/// slug = "acme"
/// name = "Acme Inc"
///
/// [console]
/// theme = "dark"      # dark, light, high-contrast, mono, or a file in <data>/themes
/// mouse = true
///
/// [[oauth.workload_issuers]]          # OIDC issuers whose ID tokens may be exchanged for KnoxCall tokens
/// issuer = "https://token.actions.githubusercontent.com"
/// audience = "knoxcall:api"           # the `aud` the ID token must carry
/// jwks_file = "github-jwks.json"      # relative to the data dir; or jwks_url = "https://…"
/// subjects = { "repo:acme/api:*" = "invoke", "repo:acme/deploy:ref:refs/heads/main" = "editor" }
/// modes = ["live", "test"]            # default: both
///
/// [oauth]
/// authorize_requests_per_minute = 20  # per source address, for requests that start an authorization
/// max_pending_authorizations = 256    # per mode
/// max_pending_per_client = 16
/// ```
public struct KnoxConfig: Sendable, Equatable {
    public var liveAPI = ListenAddress(host: "127.0.0.1", port: 8700)
    public var testAPI = ListenAddress(host: "127.0.0.1", port: 8701)
    public var liveProxy = ListenAddress(host: "127.0.0.1", port: 8800)
    public var testProxy = ListenAddress(host: "127.0.0.1", port: 8801)
    public var limits = PlanLimits()
    public var managementRateLimit = RateLimitSetting(requests: 1000, windowSec: 60)
    /// Request-log rows older than this many days are deleted.
    public var logRetentionDays = 30
    /// Proxies whose `X-Forwarded-For` is believed (their own address is not the caller's).
    public var trustedProxies: [IPRange] = []
    public var tenantSlug = "local"
    public var tenantName = "KnoxCall (self-hosted)"
    /// The console's theme when no `--theme` flag is given (nil: the last one used, then dark).
    public var consoleTheme: String?
    public var consoleMouse = true
    /// OIDC issuers trusted for the token-exchange grant (workload identity).
    public var workloadIssuers: [WorkloadIssuer] = []
    /// Connection limits of the data-plane listeners and of the management listeners.
    public var dataPlaneLimits = ListenerLimits(maxConnectionsShare: 5)
    public var managementLimits = ListenerLimits(maxConnectionsShare: 20)
    /// How long connecting to an upstream may take.
    public var upstreamConnectTimeoutSec: Double = 10
    /// A request that already passed this many KnoxCall gateways (its `Via`) is refused with 508.
    public var maxHops = 3
    /// Client addresses wider than these prefixes need `allow_wide_range: true`; `/0` always does.
    public var widestClientPrefixIPv4 = 8
    public var widestClientPrefixIPv6 = 32
    /// Where clients reach each mode's management API (the OAuth issuer); nil: its listen address over http.
    public var publicURL: [Mode: String] = [:]
    /// `/oauth/authorize` requests that start an authorization, per source address and minute.
    public var authorizeRequestsPerMinute = 20
    public var maxPendingAuthorizations = 256
    public var maxPendingAuthorizationsPerClient = 16

    public init() {}

    public func apiAddress(_ mode: Mode) -> ListenAddress { mode == .live ? liveAPI : testAPI }
    public func proxyAddress(_ mode: Mode) -> ListenAddress { mode == .live ? liveProxy : testProxy }
}

/// An OIDC issuer whose ID tokens a workload may exchange for a KnoxCall access token (RFC 8693).
public struct WorkloadIssuer: Sendable, Equatable {
    public var issuer: String
    /// The audience the ID token must be issued for.
    public var audience: String
    /// The issuer's JSON Web Key Set: a file (relative paths are in the data dir) or an http(s) URL.
    public var jwksFile: String?
    public var jwksURL: String?
    /// Subject patterns (exact, or a prefix ending in `*`) and the key role each is granted; the first match wins,
    /// exact patterns before prefixes.
    public var subjects: [SubjectRule]
    public var modes: [Mode]

    public init(
        issuer: String, audience: String, jwksFile: String? = nil, jwksURL: String? = nil, subjects: [SubjectRule],
        modes: [Mode] = Mode.allCases
    ) {
        self.issuer = issuer
        self.audience = audience
        self.jwksFile = jwksFile
        self.jwksURL = jwksURL
        self.subjects = subjects
        self.modes = modes
    }

    /// The role for `subject`, if any rule grants one.
    public func role(for subject: String) -> Role? {
        if let exact = subjects.first(where: { !$0.pattern.hasSuffix("*") && $0.pattern == subject }) {
            return exact.role
        }
        let prefixes = subjects.filter { $0.pattern.hasSuffix("*") }.sorted { $0.pattern.count > $1.pattern.count }
        return prefixes.first { subject.hasPrefix(String($0.pattern.dropLast())) }?.role
    }
}

public struct SubjectRule: Sendable, Equatable {
    public var pattern: String
    public var role: Role

    public init(pattern: String, role: Role) {
        self.pattern = pattern
        self.role = role
    }
}

/// Per-tenant quotas; nil means unlimited.
public struct PlanLimits: Sendable, Equatable {
    public var routes: Int?
    public var secrets: Int?
    public var clients: Int?
    public var environments: Int?
    public var apiKeys: Int?

    public init(
        routes: Int? = nil, secrets: Int? = nil, clients: Int? = nil, environments: Int? = nil, apiKeys: Int? = nil
    ) {
        self.routes = routes
        self.secrets = secrets
        self.clients = clients
        self.environments = environments
        self.apiKeys = apiKeys
    }
}

/// `requests` per `windowSec`.
public struct RateLimitSetting: Sendable, Equatable {
    public var requests: Int
    public var windowSec: Int

    public init(requests: Int, windowSec: Int) {
        self.requests = requests
        self.windowSec = windowSec
    }
}

/// A problem with `config.toml`: the key path at fault and what is wrong.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// A first pass over `config.toml` and theme files, kept from the days of toml++ (which aborted the process on these;
/// found by the `config` and `theme` fuzz targets) because its messages say more than a parse error would, line by
/// line: control characters other than tab, line feed and carriage return (TOML 1.0
/// allows them nowhere), and a table header whose name starts with neither a bare-key character nor a quote (`[é]`,
/// `[,`, `[]`; a line of a multi-line array starting `[ [1] ]` is refused too: no KnoxCall setting takes nested arrays).
/// Scalars, not characters: "\r\n" is one character, and so is "[" followed by a combining mark.
public func checkTOMLText(_ text: String, file: String) throws(ConfigError) {
    let scalars = Array(text.unicodeScalars)
    var lineStart = 0
    var lineNumber = 1
    while lineStart <= scalars.count {
        let lineEnd = scalars[lineStart...].firstIndex(of: "\n") ?? scalars.count
        for i in lineStart..<lineEnd {
            let v = scalars[i].value
            if (v < 0x20 && v != 0x09 && v != 0x0D) || v == 0x7F {
                throw ConfigError(
                    file: file,
                    message:
                        "line \(lineNumber), column \(i - lineStart + 1): control character U+\(String(format: "%04X", v)) is not allowed in TOML"
                )
            }
        }
        // The parser skips a byte-order mark at the start.
        var i = lineStart == 0 && scalars.first == "\u{FEFF}" ? 1 : lineStart
        while i < lineEnd, scalars[i] == " " || scalars[i] == "\t" { i += 1 }
        if i < lineEnd, scalars[i] == "[" {
            i += 1
            if i < lineEnd, scalars[i] == "[" { i += 1 }
            while i < lineEnd, scalars[i] == " " || scalars[i] == "\t" { i += 1 }
            let c = i < lineEnd ? scalars[i] : "]"
            let startsAKey =
                ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
                || c == "\"" || c == "'"
            if !startsAKey {
                throw ConfigError(
                    file: file,
                    message:
                        "line \(lineNumber): a table name starts with a letter, digit, _ or -, or is quoted (\"…\")")
            }
        }
        lineStart = lineEnd + 1
        lineNumber += 1
    }
}

extension KnoxConfig {
    /// Reads `path` when it exists; the defaults otherwise.
    public static func load(path: String) throws(ConfigError) -> KnoxConfig {
        guard FileManager.default.fileExists(atPath: path) else { return KnoxConfig() }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigError(file: path, message: "cannot be read as UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Parses TOML text. Unknown tables and keys are errors, so a typo never silently falls back to a default.
    public static func parse(_ text: String, file: String = "config.toml") throws(ConfigError) -> KnoxConfig {
        try checkTOMLText(text, file: file)
        let root: JSONObject
        do {
            root = try TOML.parse(text)
        } catch {
            throw ConfigError(file: file, message: error.description)
        }
        do {
            return try KnoxConfig(root: root)
        } catch {
            throw ConfigError(file: file, message: error.message)
        }
    }

    init(root: JSONObject) throws(ApiError) {
        self.init()
        let top = try FieldReader(
            root,
            allowed: ["listen", "limits", "management", "tenant", "logs", "data_plane", "console", "oauth", "clients"])
        if let oauth = try top.objectField("oauth").value {
            let r = try FieldReader(
                oauth,
                allowed: [
                    "workload_issuers", "authorize_requests_per_minute", "max_pending_authorizations",
                    "max_pending_per_client",
                ],
                prefix: "oauth.")
            for (i, item) in (try r.array("workload_issuers").value ?? []).enumerated() {
                workloadIssuers.append(try Self.workloadIssuer(item, index: i))
            }
            if let v = try r.int("authorize_requests_per_minute", in: 1...100_000).value {
                authorizeRequestsPerMinute = v
            }
            if let v = try r.int("max_pending_authorizations", in: 1...1_000_000).value { maxPendingAuthorizations = v }
            if let v = try r.int("max_pending_per_client", in: 1...1_000_000).value {
                maxPendingAuthorizationsPerClient = v
            }
        }
        if let clients = try top.objectField("clients").value {
            let r = try FieldReader(clients, allowed: ["widest_ipv4_prefix", "widest_ipv6_prefix"], prefix: "clients.")
            if let v = try r.int("widest_ipv4_prefix", in: 1...32).value { widestClientPrefixIPv4 = v }
            if let v = try r.int("widest_ipv6_prefix", in: 1...128).value { widestClientPrefixIPv6 = v }
        }
        if let console = try top.objectField("console").value {
            let r = try FieldReader(console, allowed: ["theme", "mouse"], prefix: "console.")
            if let theme = try r.string("theme").value {
                guard !theme.isEmpty, theme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw ApiError.invalid(
                        "console.theme", "a theme name is letters, digits, - and _ (got \"\(theme)\")")
                }
                consoleTheme = theme
            }
            if let mouse = try r.bool("mouse").value { consoleMouse = mouse }
        }
        if let logs = try top.objectField("logs").value {
            let r = try FieldReader(logs, allowed: ["retention_days"], prefix: "logs.")
            if let days = try r.int("retention_days", in: 1...3650).value { logRetentionDays = days }
        }
        if let dataPlane = try top.objectField("data_plane").value {
            let r = try FieldReader(
                dataPlane,
                allowed: ListenerLimits.keys.union(["trusted_proxies", "upstream_connect_timeout_sec", "max_hops"]),
                prefix: "data_plane.")
            try dataPlaneLimits.read(r)
            if let v = try r.number("upstream_connect_timeout_sec", in: 0.1...300).value {
                upstreamConnectTimeoutSec = v
            }
            if let v = try r.int("max_hops", in: 1...20).value { maxHops = v }
            if let list = try r.stringArray("trusted_proxies", maxCount: 1000).value {
                trustedProxies = try list.enumerated().map { i, text throws(ApiError) in
                    guard let range = try? IPRange.parse(text).get() else {
                        throw ApiError.invalid(
                            "data_plane.trusted_proxies[\(i)]", "\"\(text)\" is not an address or CIDR range")
                    }
                    return range
                }
            }
        }
        if let listen = try top.objectField("listen").value {
            let r = try FieldReader(
                listen, allowed: ["live_api", "test_api", "live_proxy", "test_proxy"], prefix: "listen.")
            func address(_ key: String, _ target: inout ListenAddress) throws(ApiError) {
                guard let text = try r.string(key).value else { return }
                guard let a = ListenAddress(text) else {
                    throw ApiError.invalid(r.name(key), "expected host:port such as 127.0.0.1:8700 (got \"\(text)\")")
                }
                target = a
            }
            try address("live_api", &liveAPI)
            try address("test_api", &testAPI)
            try address("live_proxy", &liveProxy)
            try address("test_proxy", &testProxy)
        }
        if let limitsTable = try top.objectField("limits").value {
            let r = try FieldReader(
                limitsTable, allowed: ["routes", "secrets", "clients", "environments", "api_keys"], prefix: "limits.")
            limits.routes = try r.int("routes", in: 0...10_000_000).value
            limits.secrets = try r.int("secrets", in: 0...10_000_000).value
            limits.clients = try r.int("clients", in: 0...10_000_000).value
            limits.environments = try r.int("environments", in: 1...10_000_000).value
            limits.apiKeys = try r.int("api_keys", in: 1...10_000_000).value
        }
        if let management = try top.objectField("management").value {
            let r = try FieldReader(
                management,
                allowed: ListenerLimits.keys.union([
                    "rate_limit_requests", "rate_limit_window_sec", "live_public_url", "test_public_url",
                ]),
                prefix: "management.")
            if let v = try r.int("rate_limit_requests", in: 1...10_000_000).value { managementRateLimit.requests = v }
            if let v = try r.int("rate_limit_window_sec", in: 1...86_400).value { managementRateLimit.windowSec = v }
            try managementLimits.read(r)
            for mode in Mode.allCases {
                let key = "\(mode.rawValue)_public_url"
                guard let text = try r.string(key).value else { continue }
                guard let url = try? UpstreamURL.parse(text).get(), url.basePath.isEmpty || url.basePath == "/" else {
                    throw ApiError.invalid(
                        r.name(key), "must be an http(s) URL with no path, such as https://knox.example.com")
                }
                publicURL[mode] = "\(url.scheme)://\(url.hostHeader)"
            }
        }
        if let tenant = try top.objectField("tenant").value {
            let r = try FieldReader(tenant, allowed: ["slug", "name"], prefix: "tenant.")
            if let slug = try r.string("slug").value {
                guard Slug.isValid(slug), !slug.hasPrefix("-"), !slug.hasSuffix("-") else {
                    throw ApiError.invalid("tenant.slug", "must be a DNS label: a-z, 0-9 and -, 1-63 characters")
                }
                tenantSlug = slug
            }
            if let name = try r.text("name", maxLength: 200).value { tenantName = name }
        }
    }
}

extension KnoxConfig {
    static func workloadIssuer(_ item: JSONValue, index i: Int) throws(ApiError) -> WorkloadIssuer {
        let prefix = "oauth.workload_issuers[\(i)]."
        guard let object = item.objectValue else {
            throw ApiError.invalid("oauth.workload_issuers[\(i)]", "must be a table")
        }
        let r = try FieldReader(
            object, allowed: ["issuer", "audience", "jwks_file", "jwks_url", "subjects", "modes"], prefix: prefix)
        guard let issuer = try r.string("issuer").value, !issuer.isEmpty else {
            throw ApiError.invalid(prefix + "issuer", "is required")
        }
        guard let audience = try r.string("audience").value, !audience.isEmpty else {
            throw ApiError.invalid(prefix + "audience", "is required (the aud the ID tokens carry, e.g. knoxcall:api)")
        }
        let file = try r.string("jwks_file").value
        let url = try r.string("jwks_url").value
        guard (file == nil) != (url == nil) else {
            throw ApiError.invalid(prefix + "jwks_file", "give exactly one of jwks_file and jwks_url")
        }
        if let url {
            guard let parsed = try? UpstreamURL.parse(url).get(), parsed.isTLS || parsed.isLoopback else {
                throw ApiError.invalid(prefix + "jwks_url", "must be an https URL (http only to a loopback address)")
            }
        }
        guard let subjectTable = try r.objectField("subjects").value, !subjectTable.isEmpty else {
            throw ApiError.invalid(
                prefix + "subjects", "map at least one subject (or subject prefix ending in *) to a key role")
        }
        var rules: [SubjectRule] = []
        for (pattern, value) in subjectTable {
            guard let slug = value.stringValue, let role = Role.seeded(matching: slug) else {
                throw ApiError.invalid(
                    prefix + "subjects.\(pattern)",
                    "must name a key role: \(Role.seeded.map(\.slug).joined(separator: ", "))")
            }
            guard !pattern.isEmpty, !pattern.dropLast().contains("*") else {
                throw ApiError.invalid(
                    prefix + "subjects.\(pattern)", "a pattern is a subject, or a prefix ending in a single *")
            }
            rules.append(SubjectRule(pattern: pattern, role: role))
        }
        var modes = Mode.allCases
        if let names = try r.stringArray("modes", maxCount: 2).value {
            modes = try names.map { name throws(ApiError) in
                guard let mode = Mode(rawValue: name) else {
                    throw ApiError.invalid(prefix + "modes", "entries are live or test")
                }
                return mode
            }
        }
        return WorkloadIssuer(
            issuer: issuer, audience: audience, jwksFile: file, jwksURL: url, subjects: rules, modes: modes)
    }
}
