import Foundation
import GRDB
import KnoxCore
import KnoxTestSupport
import NIOCore
import Testing

@testable import KnoxDataPlane
@testable import KnoxEngine
@testable import KnoxProxy
@testable import KnoxStore

@Suite struct InjectionTests {
    @Test func injectsHeadersAndForwardsPathAndQueryVerbatim() async throws {
        let p = try await ProxyFixture()
        try await p.secret("UP_TOKEN", "token-123")
        try await p.route(
            "Echo", path: "/base/",
            extra: #""inject_headers_json":{"Authorization":"Bearer {{secret:UP_TOKEN}}","X-Static":"plain"}"#)
        let r = try await p.call("GET", "/v1/users/42?expand=a%20b&x=1", route: "echo")
        #expect(r.status == 200)
        #expect(r.json["uri"] == "/base/v1/users/42?expand=a%20b&x=1")
        #expect(r.echoedHeader("Authorization") == "Bearer token-123")
        #expect(r.echoedHeader("X-Static") == "plain")
        #expect(r.header("X-Knox-Upstream-Status") == "200")
        #expect(r.header("X-Request-Id")?.hasPrefix("req_") == true)
        #expect(r.echoedHeader("X-Request-Id") == r.header("X-Request-Id"))
        #expect(r.header("X-Upstream") == "test")
    }

    @Test func injectedHeaderReplacesTheCallers() async throws {
        let p = try await ProxyFixture()
        try await p.secret("T", "server-side")
        try await p.route("R", extra: #""inject_headers_json":{"Authorization":"Bearer {{secret:T}}"}"#)
        let r = try await p.call(route: "r", headers: ["Authorization": "Bearer caller-side"])
        #expect(r.echoedHeader("Authorization") == "Bearer server-side")
    }

    @Test func callersOwnUpstreamAuthorizationPassesThrough() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let r = try await p.call(route: "r", headers: ["Authorization": "Bearer upstream-token"])
        #expect(r.echoedHeader("Authorization") == "Bearer upstream-token")
    }

    @Test func mergesInjectBodyAndResolvesCallerPlaceholders() async throws {
        let p = try await ProxyFixture()
        let id = try await p.secret("API KEY", #"va"lue"#)
        try await p.route(
            "R",
            extra: #""inject_body_json":{"auth":{"key":"{{secret:API_KEY}}"},"fixed":1},"callable_secrets":["API_KEY"]"#
        )
        let r = try await p.call(
            "POST", "/charge", route: "r", headers: ["Content-Type": "application/json"],
            body: #"{"amount":100,"auth":{"user":"u"},"note":"by id {{secret_id:\#(id)}}"}"#)
        #expect(r.status == 200)
        let sent = json(r.json["body"]?.stringValue ?? "")
        #expect(sent == json(#"{"amount":100,"auth":{"user":"u","key":"va\"lue"},"note":"by id va\"lue","fixed":1}"#))
        #expect(r.echoedHeader("Content-Length") == String(Array((r.json["body"]?.stringValue ?? "").utf8).count))
    }

    @Test func formAndTextBodies() async throws {
        let p = try await ProxyFixture()
        try await p.secret("PW", "p@ss word&=")
        try await p.route("R", extra: #""callable_secrets":["PW"]"#)
        let form = try await p.call(
            "POST", "/", route: "r", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: "user=a&password=%7B%7Bsecret%3APW%7D%7D&x=1")
        #expect(form.json["body"] == "user=a&password=p%40ss+word%26%3D&x=1")
        let text = try await p.call(
            "PUT", "/", route: "r", headers: ["Content-Type": "text/plain"], body: "secret is {{secret:PW}}.")
        #expect(text.json["body"] == "secret is p@ss word&=.")
        let opaque = try await p.call(
            "POST", "/", route: "r", headers: ["Content-Type": "application/octet-stream"], body: "{{secret:PW}}")
        #expect(opaque.json["body"] == "{{secret:PW}}")
    }

    @Test func unknownSecretInTheCallersBodyIs400() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let r = try await p.call(
            "POST", "/", route: "r", headers: ["Content-Type": "application/json"], body: #"{"k":"{{secret:NOPE}}"}"#)
        #expect(r.status == 400)
        #expect(r.errorType == "secret_not_found")
        #expect(p.upstream.requests.isEmpty)
    }

    @Test func environmentOverridesAndEnvironmentValuesWin() async throws {
        let p = try await ProxyFixture()
        _ = try await p.engine.createEnvironment(json(#"{"name":"staging"}"#), console)
        let id = try await p.secret("TOKEN", "prod-value")
        _ = try await p.engine.setSecretValue(id, environment: "staging", json(#"{"value":"staging-value"}"#), console)
        let r = try await p.route("R", path: "/prod", extra: #""inject_headers_json":{"X-Token":"{{secret:TOKEN}}"}"#)
        let rid = try #require(r["id"]?.stringValue)
        _ = try await p.engine.putRouteEnvironment(
            rid, "staging", json(#"{"target_base_url":"\#(p.upstream.url)/stage","inject_body_json":{"env":"stage"}}"#),
            console)
        let prod = try await p.call(route: "r")
        #expect(prod.json["uri"] == "/prod/")
        #expect(prod.echoedHeader("X-Token") == "prod-value")
        let staging = try await p.call(
            "POST", "/x", route: "r",
            headers: ["x-knoxcall-environment": "staging", "Content-Type": "application/json"], body: "{}")
        #expect(staging.json["uri"] == "/stage/x")
        #expect(staging.echoedHeader("X-Token") == "staging-value")
        #expect(json(staging.json["body"]?.stringValue ?? "") == json(#"{"env":"stage"}"#))
        let logs = try await p.logs()
        #expect(logs.map(\.environment) == ["production", "staging"])
    }

    @Test func rotationIsSeenOnTheNextRequest() async throws {
        let p = try await ProxyFixture()
        let id = try await p.secret("TOKEN", "v1")
        try await p.route("R", extra: #""inject_headers_json":{"X-Token":"{{secret:TOKEN}}"}"#)
        #expect(try await p.call(route: "r").echoedHeader("X-Token") == "v1")
        _ = try await p.engine.setSecretValue(id, environment: nil, json(#"{"value":"v2"}"#), console)
        #expect(try await p.call(route: "r").echoedHeader("X-Token") == "v2")
    }

    /// A secret past its `expires_at` is refused for injection only when it enforces expiry strictly (500
    /// `secret_unusable`, naming the secret, never its value, nothing sent upstream); otherwise it is still injected.
    @Test func expiredSecretIsRefusedOnlyUnderStrictEnforcement() async throws {
        let p = try await ProxyFixture()
        let expires = JSONValue.string(Timestamp.format(millis: p.fixture.clock.nowMillis() + 60_000))
        for (name, strict) in [("STRICT", true), ("LAX", false)] {
            let body: JSONValue = [
                "name": .string(name), "value": .string("\(name.lowercased())-value"), "expires_at": expires,
                "strict_expiry_enforcement": .bool(strict),
            ]
            _ = try await p.engine.createSecret(body, console)
            try await p.route(name, extra: #""inject_headers_json":{"X-Token":"Bearer {{secret:\#(name)}}"}"#)
        }
        #expect(try await p.call(route: "strict").echoedHeader("X-Token") == "Bearer strict-value")
        p.fixture.clock.advance(seconds: 61)
        let sent = p.upstream.requests.count
        let refused = try await p.call(route: "strict")
        #expect(refused.status == 500)
        #expect(refused.errorType == "secret_unusable")
        #expect(refused.text.contains("STRICT"))
        #expect(!refused.text.contains("strict-value"))
        #expect(p.upstream.requests.count == sent)
        #expect(try await p.call(route: "lax").echoedHeader("X-Token") == "Bearer lax-value")
    }

    @Test func headerUnsafeSecretIsRefusedByName() async throws {
        let p = try await ProxyFixture()
        try await p.secret("MULTILINE", "line1\r\nX-Evil: 1")
        try await p.route("R", extra: #""inject_headers_json":{"X-Token":"{{secret:MULTILINE}}"}"#)
        let r = try await p.call(route: "r")
        #expect(r.status == 500)
        #expect(r.errorType == "secret_unusable")
        #expect(r.text.contains("MULTILINE"))
        #expect(!r.text.contains("line1"))
        #expect(p.upstream.requests.isEmpty)
    }

    /// Values are written into the upstream head as their secrets are opened. When a later header's secret is
    /// refused (CR/LF, expired, or a ciphertext that does not open), nothing goes upstream and the answer names
    /// that secret, never a value, not even the earlier header's.
    @Test func aLaterHeadersRefusalSendsNothing() async throws {
        let p = try await ProxyFixture()
        try await p.secret("FIRST", "first-value-1111")
        try await p.secret("SPLIT", "second\r\nX-Evil: 1")
        let expires = JSONValue.string(Timestamp.format(millis: p.fixture.clock.nowMillis() + 60_000))
        let strict: JSONValue = [
            "name": .string("STALE"), "value": .string("stale-value-3333"), "expires_at": expires,
            "strict_expiry_enforcement": .bool(true),
        ]
        _ = try await p.engine.createSecret(strict, console)
        let movedId = try await p.secret("MOVED", "moved-value-4444")
        for (route, second) in [("split", "SPLIT"), ("stale", "STALE"), ("moved", "MOVED")] {
            try await p.route(
                route,
                extra: #""inject_headers_json":{"X-A":"Bearer {{secret:FIRST}}","X-B":"k={{secret:\#(second)}};"}"#)
        }
        #expect(try await p.call(route: "moved").echoedHeader("X-B") == "k=moved-value-4444;")
        #expect(try await p.call(route: "stale").echoedHeader("X-A") == "Bearer first-value-1111")
        // MOVED's stored value replaced by FIRST's ciphertext: it no longer authenticates (another secret's row).
        try await p.sealValues(of: movedId, withCiphertextOf: "FIRST")
        p.fixture.clock.advance(seconds: 61)
        let sent = p.upstream.requests.count
        for (route, name, reason) in [
            ("split", "SPLIT", "contains CR, LF or NUL"), ("stale", "STALE", "has expired"),
            ("moved", "MOVED", "cannot be decrypted"),
        ] {
            let r = try await p.call(route: route)
            #expect(r.status == 500 && r.errorType == "secret_unusable", "\(route)")
            #expect(r.text.contains("Secret \(name) ") && r.text.contains(reason), "\(route): \(r.text)")
            for value in ["first-value-1111", "second", "stale-value-3333", "moved-value-4444"] {
                #expect(!r.text.contains(value))
            }
        }
        #expect(p.upstream.requests.count == sent)
        // The earlier header alone still works.
        try await p.route("only", extra: #""inject_headers_json":{"X-A":"Bearer {{secret:FIRST}}"}"#)
        #expect(try await p.call(route: "only").echoedHeader("X-A") == "Bearer first-value-1111")
    }

    /// A head whose first pass does not fit its room is written again with more, in-place values included: running
    /// out of room is never taken for a refusal.
    @Test func inPlaceValuesSurviveAHeadWrittenTwice() async throws {
        let p = try await ProxyFixture()
        let head = try #require(try WireFixtures.request("GET /x HTTP/1.1\r\nHost: a\r\nX-Caller: 1\r\n\r\n"))
        let header = InjectedHeader(name: "X-Static", template: "static-value")
        #expect(header.inPlaceLength == 12)
        for room in [8, 100, 4096] {
            var out = ByteBuffer()
            try HeaderRules.writeUpstreamHead(
                method: "GET", target: "/x", caller: head.fields,
                HeaderRules.UpstreamAdditions(
                    hostHeader: "up.example", clientText: "10.0.0.1", peerIsTrustedProxy: false, requestId: "req_1",
                    injected: [], consumedSignature: false, bodyLength: nil, chunked: false, hasConnectionTokens: false,
                    inPlace: .init(headers: [header], opener: SecretOpener(port: p.engine, nowMillis: 0))),
                room: room, into: &out)
            let text = String(buffer: out)
            #expect(text.hasPrefix("GET /x HTTP/1.1\r\nHost: up.example\r\nX-Caller: 1\r\n"), "\(room)")
            #expect(text.contains("\r\nX-Static: static-value\r\n") && text.hasSuffix("\r\n\r\n"), "\(room)")
        }
    }

    @Test func knoxcallCredentialsNeverReachTheUpstream() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let r = try await p.call(
            route: "r",
            headers: [
                "x-knoxcall-environment": "production", "x-knoxcall-origin": "sdk-intercept",
                "X-Forwarded-For": "6.6.6.6",
                "Connection": "keep-alive, X-Hop", "X-Hop": "drop me", "Proxy-Authorization": "Basic eA==",
            ])
        #expect(r.status == 200)
        let upstream = try #require(p.upstream.requests.first)
        for (name, value) in upstream.headers {
            #expect(!name.lowercased().hasPrefix("x-knoxcall"), "\(name) reached the upstream")
            #expect(!value.contains(p.key), "the key reached the upstream in \(name)")
        }
        #expect(upstream.header("X-Hop") == nil)
        #expect(upstream.header("Proxy-Authorization") == nil)
        #expect(upstream.header("X-Forwarded-For") == "127.0.0.1")  // the caller's own XFF is not trusted
        #expect(upstream.header("X-Forwarded-Proto") == "http")
        // A KnoxCall key sent as a bearer token is not forwarded either.
        p.upstream.reset()
        _ = try await p.call(route: "r", headers: ["Authorization": "Bearer \(p.key)"])
        #expect(p.upstream.requests.first?.header("Authorization") == nil)
        #expect(try await p.logs().last?.identificationMethod == "api_key")
    }
}
