import Foundation
import KnoxCore
import KnoxCrypto
import KnoxTestSupport
import Testing

@testable import KnoxEngine
@testable import KnoxProxy

/// Every field a route or environment body accepts either changes what the data plane does (shown here through it),
/// describes the route (shown in what the API returns), or is refused when given a value other than its default: no
/// setting is saved and silently ignored (issue 20, point 8). A field added to the readers without a case here fails
/// the coverage check.
@Suite struct RouteFieldEffectTests {
    enum Effect: Sendable {
        /// Sent with `body` (JSON members added to a valid route), the save is a `validation_error` on the field.
        case refused(String)
        /// Proven by `check`, which makes its own routes.
        case changes(@Sendable (ProxyFixture) async throws -> Void)
        /// Metadata: returned as saved.
        case describes(String, key: String, expected: JSONValue)
    }

    static let routeFields: [String: Effect] = [
        "name": .changes { p in
            try await p.route("Legacy Name")
            #expect(try await p.call(route: "Legacy Name").status == 200)  // found by its (legacy) name
        },
        "slug": .changes { p in
            try await p.route("Named", extra: #""slug":"custom-slug""#)
            #expect(try await p.call(route: "custom-slug").status == 200)
        },
        "target_base_url": .changes { p in
            try await p.route("T", path: "/base")
            _ = try await p.call("GET", "/x", route: "t")
            #expect(p.upstream.requests.last?.uri == "/base/x")
        },
        "base_environment": .changes { p in
            _ = try await p.engine.createEnvironment(json(#"{"name":"staging"}"#), console)
            try await p.route("B", extra: #""base_environment":"staging""#)
            _ = try await p.call(route: "b")
            #expect(try await p.logs().last?.environment == "staging")
        },
        "enabled": .changes { p in
            try await p.route("Off", extra: #""enabled":false"#)
            #expect(try await p.call(route: "off").errorType == "route_not_found")
        },
        "requires_clients": .changes { p in
            try await p.route("C", extra: #""requires_clients":true"#)
            #expect(try await p.call(route: "c").errorType == "ip_not_allowed")
        },
        "inject_headers_json": .changes { p in
            try await p.route("H", extra: #""inject_headers_json":{"X-Static":"v"}"#)
            _ = try await p.call(route: "h")
            #expect(p.upstream.requests.last?.header("X-Static") == "v")
        },
        "inject_body_json": .changes { p in
            try await p.route("J", extra: #""inject_body_json":{"added":1}"#)
            _ = try await p.call("POST", "/", route: "j", headers: ["Content-Type": "application/json"], body: "{}")
            #expect(p.upstream.requests.last?.bodyText == #"{"added":1}"#)
        },
        "injection_rules": .refused(#""injection_rules":[{"x":1}]"#),
        "ip_allowlist": .changes { p in
            try await p.route("A", extra: #""ip_allowlist":["10.0.0.0/8"]"#)
            #expect(try await p.call(route: "a").errorType == "ip_not_allowed")
        },
        "require_signature": .changes { p in try await Self.signatures(p) },
        "signing_secret_id": .changes { p in try await Self.signatures(p) },
        "signature_tolerance_sec": .changes { p in try await Self.signatures(p) },
        "rate_limit_enabled": .changes { p in try await Self.rateLimit(p) },
        "rate_limit_requests": .changes { p in try await Self.rateLimit(p) },
        "rate_limit_window_sec": .changes { p in try await Self.rateLimit(p) },
        "rate_limit_burst": .changes { p in try await Self.rateLimit(p) },
        "allowed_methods": .changes { p in
            try await p.route("M", extra: #""allowed_methods":["GET"],"http_method_restrictions_enabled":true"#)
            #expect(try await p.call("DELETE", route: "m").errorType == "method_not_allowed")
        },
        "http_method_restrictions_enabled": .refused(
            #""allowed_methods":["GET"],"http_method_restrictions_enabled":false"#),
        "method_configs": .refused(#""method_configs":[{"method":"POST","require_signature":true}]"#),
        "use_method_specific_configs": .refused(#""use_method_specific_configs":true"#),
        "payload_structure": .describes(
            #""payload_structure":{"card":"4242"}"#, key: "payload_structure", expected: ["card": "<string>"]),
        "upstream_timeout_sec": .changes { p in
            try await p.route("Slow", extra: #""upstream_timeout_sec":1"#)
            #expect(try await p.call("GET", "/slow?ms=2500", route: "slow").errorType == "upstream_timeout")
        },
        "intercept_enabled": .refused(#""intercept_enabled":true"#),
        "callable_secrets": .changes { p in
            _ = try await p.secret("BODY", "body-value")
            try await p.route("Cs", extra: #""callable_secrets":["BODY"]"#)
            _ = try await p.call(
                "POST", "/", route: "cs", headers: ["Content-Type": "application/json"],
                body: #"{"v":"{{secret:BODY}}"}"#)
            #expect(p.upstream.requests.last?.bodyText == #"{"v":"body-value"}"#)
        },
        "allow_encoded_slashes": .changes { p in
            try await p.route("Es", extra: #""allow_encoded_slashes":true"#)
            #expect(try await p.call("GET", "/a%2Fb", route: "es").status == 200)
        },
        "collection_id": .describes(#""collection_id":"col_1""#, key: "collection_id", expected: "col_1"),
        "mtls_certificate_id": .refused(#""mtls_certificate_id":"00000000-0000-4000-8000-000000000000""#),
        "egress_server_id": .refused(#""egress_server_id":"eg-1""#),
        "data_plane_node_id": .refused(#""data_plane_node_id":"dp-1""#),
    ]

    static func signatures(_ p: ProxyFixture) async throws {
        let sid = try await p.secret("SIG", "k")
        try await p.route(
            "S", extra: #""require_signature":true,"signing_secret_id":"\#(sid)","signature_tolerance_sec":10"#)
        let now = p.fixture.clock.nowMillis() / 1000
        func call(_ timestamp: Int64, key: String) async throws -> RawHTTP.Response {
            let signature = RequestSignature.compute(
                secret: SecretValue(key), timestamp: String(timestamp), method: "GET", pathWithQuery: "/", body: [])
            return try await p.call(route: "s", headers: ["X-Timestamp": String(timestamp), "X-Signature": signature])
        }
        #expect(try await call(now, key: "k").status == 200)
        #expect(try await call(now, key: "other").errorType == "signature_invalid")
        #expect(try await call(now - 11, key: "k").errorType == "signature_expired")
    }

    static func rateLimit(_ p: ProxyFixture) async throws {
        try await p.route(
            "L",
            extra:
                #""rate_limit_enabled":true,"rate_limit_requests":1,"rate_limit_window_sec":3600,"rate_limit_burst":2"#)
        #expect(try await p.call(route: "l").status == 200)
        #expect(try await p.call(route: "l").status == 200)
        #expect(try await p.call(route: "l").errorType == "rate_limit_exceeded")
    }

    @Test func everyRouteFieldIsCovered() {
        let accepted = Engine.routeFieldsOnCreate.union(Engine.routeFieldsOnUpdate).union(RouteSettingsReader.fields)
        #expect(Set(Self.routeFields.keys) == accepted)
        // An override body takes the settings fields and its own `enabled`, all of which appear above.
        #expect(RouteSettingsReader.fields.union(["enabled"]).isSubset(of: accepted))
    }

    @Test(arguments: routeFields.keys.sorted())
    func routeFieldDoesWhatItSays(field: String) async throws {
        let p = try await ProxyFixture()
        switch Self.routeFields[field] {
        case .refused(let members)?:
            do {
                _ = try await p.engine.createRoute(
                    json(#"{"name":"Refused","target_base_url":"\#(p.upstream.url)",\#(members)}"#), console)
                Issue.record("\(field): a non-default value was accepted")
            } catch let error as ApiError {
                #expect(error.type == .validationError && error.field == field, "\(field): \(error.message)")
            }
            // And the same on an update of an existing route.
            let route = try await p.route("Kept")
            let id = try #require(route["id"]?.stringValue)
            await #expect(throws: ApiError.self, "\(field) on update") {
                _ = try await p.engine.updateRoute(id, json("{\(members)}"), console)
            }
        case .changes(let check)?:
            try await check(p)
        case .describes(let members, let key, let expected)?:
            let route = try await p.route("Described", extra: members)
            #expect(route[key] == expected, "\(field)")
            #expect(try await p.call(route: "described").status == 200)
        case nil:
            Issue.record("no case for \(field)")
        }
    }

    /// An environment override's fields: the same settings, refused or applied in that environment only.
    @Test func environmentOverridesApplyOrRefuseTheSameWay() async throws {
        let p = try await ProxyFixture()
        _ = try await p.engine.createEnvironment(json(#"{"name":"staging"}"#), console)
        let route = try await p.route("E", path: "/prod")
        let id = try #require(route["id"]?.stringValue)
        for members in [
            #""intercept_enabled":true"#, #""method_configs":[{"method":"GET"}]"#,
            #""use_method_specific_configs":true"#,
        ] {
            await #expect(throws: ApiError.self, "\(members)") {
                _ = try await p.engine.putRouteEnvironment(id, "staging", json("{\(members)}"), console)
            }
        }
        _ = try await p.engine.putRouteEnvironment(
            id, "staging",
            json(
                #"{"target_base_url":"\#(p.upstream.url)/stage","allowed_methods":["GET"],"allow_encoded_slashes":true}"#
            ),
            console)
        let staging = ["x-knoxcall-environment": "staging"]
        _ = try await p.call("GET", "/a%2Fb", route: "e", headers: staging)
        #expect(p.upstream.requests.last?.uri == "/stage/a%2Fb")
        #expect(try await p.call("POST", "/", route: "e", headers: staging, body: "").errorType == "method_not_allowed")
        #expect(try await p.call("GET", "/a%2Fb", route: "e").status == 400)  // production keeps its own rules
        _ = try await p.engine.putRouteEnvironment(id, "staging", json(#"{"enabled":false}"#), console)
        #expect(try await p.call(route: "e", headers: staging).errorType == "environment_disabled")
    }
}
