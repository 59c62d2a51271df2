import Foundation
import KnoxCore
import KnoxCrypto
import KnoxEngine
import KnoxTestSupport
import NIOCore
import Testing

@testable import KnoxProxy

/// Every refusal, its type and status, and the order in which the checks run.
@Suite struct ChecksTests {
    @Test func callerMustBeIdentifiedBeforeAnythingElse() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        // Unknown route and no credential: the answer says nothing about the route.
        let anonymous = try await p.call(route: "does-not-exist", key: "")
        #expect(anonymous.status == 401)
        #expect(anonymous.errorType == "authentication_required")
        #expect(!anonymous.text.contains("does-not-exist"))
        let bad = try await p.call(route: "r", key: "tk_live_aaaaaaaaaaaa_" + String(repeating: "b", count: 43))
        #expect(bad.status == 401 && bad.errorType == "invalid_api_key")
        let wrongSide = try await p.call(route: "r", key: "tk_test_aaaaaaaaaaaa_" + String(repeating: "b", count: 43))
        #expect(wrongSide.status == 403 && wrongSide.errorType == "wrong_key_type")
        let readOnly = try await p.engine.makeKey("ro", role: .readOnly)
        let forbidden = try await p.call(route: "r", key: readOnly)
        #expect(forbidden.status == 403 && forbidden.errorType == "forbidden")
        let invoke = try await p.engine.makeKey("inv", role: .invoke)
        #expect(try await p.call(route: "r", key: invoke).status == 200)
        // None of these reached the upstream, and each left one log row.
        #expect(p.upstream.requests.count == 1)
        let logs = try await p.logs()
        #expect(logs.map(\.statusCode) == [401, 401, 403, 403, 200])
        #expect(
            logs.map(\.error) == ["authentication_required", "invalid_api_key", "wrong_key_type", "forbidden", nil])
    }

    /// OAuth access tokens (`Authorization: Bearer kc_…`) work where keys do, with `proxy:invoke` in their scope, and
    /// never reach the upstream.
    @Test func oauthTokensIdentifyCallers() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let cut = p.key.lastIndex(of: "_")!
        let client = try p.engine.authenticateClient(
            id: String(p.key[..<cut]), secret: String(p.key[p.key.index(after: cut)...]))
        func mint(_ scope: String) async throws -> String {
            let body = try await p.engine.issueAccessToken(
                key: client, scope: try p.engine.grantedScope(scope, key: client), grantType: "client_credentials",
                context: RequestContext(actor: .cli))
            return body["access_token"]?.stringValue ?? ""
        }
        let invoker = try await mint("proxy:invoke")
        let ok = try await p.call(route: "r", key: "", headers: ["Authorization": "Bearer \(invoker)"])
        #expect(ok.status == 200)
        #expect(p.upstream.requests.last?.header("authorization") == nil)
        #expect(!(p.upstream.requests.last?.headers ?? []).contains { $0.1.contains(invoker) })
        let reader = try await mint("routes:read")
        let forbidden = try await p.call(route: "r", key: "", headers: ["Authorization": "Bearer \(reader)"])
        #expect(forbidden.status == 403 && forbidden.errorType == "forbidden")
        let otherSide = try await p.call(
            route: "r", key: "", headers: ["Authorization": "Bearer kc_test_" + String(repeating: "a", count: 43)])
        #expect(otherSide.status == 403 && otherSide.errorType == "wrong_key_type")
        let unknown = try await p.call(
            route: "r", key: "", headers: ["Authorization": "Bearer kc_live_" + String(repeating: "a", count: 43)])
        #expect(unknown.status == 401 && unknown.errorType == "invalid_api_key")
        // A refresh token is a KnoxCall credential: refused, and with a key it is still never forwarded.
        let refresh = "kcr_live_" + String(repeating: "r", count: 43)
        let asBearer = try await p.call(route: "r", key: "", headers: ["Authorization": "Bearer \(refresh)"])
        #expect(asBearer.status == 401 && asBearer.errorType == "invalid_api_key")
        let withKey = try await p.call(route: "r", headers: ["Authorization": "Bearer \(refresh)"])
        #expect(withKey.status == 200)
        #expect(!(p.upstream.requests.last?.headers ?? []).contains { $0.1.contains(refresh) })
        let logs = try await p.logs()
        #expect(logs.first?.identificationMethod == "oauth_token")
        #expect(logs.map(\.statusCode) == [200, 403, 403, 401, 401, 200])
    }

    /// A DPoP-bound token on the data plane: only with a proof by its key for this request; refusals carry the
    /// challenge, every answer the server nonce.
    @Test func dpopBoundTokensOnTheDataPlane() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let cut = p.key.lastIndex(of: "_")!
        let client = try p.engine.authenticateClient(
            id: String(p.key[..<cut]), secret: String(p.key[p.key.index(after: cut)...]))
        let signer = DPoPSigner()
        let token =
            try await p.engine.issueAccessToken(
                key: client, scope: ["proxy:invoke"], grantType: "client_credentials", jkt: signer.thumbprint,
                context: RequestContext(actor: .cli))["access_token"]?.stringValue ?? ""
        let now = p.fixture.clock.nowMillis() / 1000
        // RawHTTP sends "Host: 127.0.0.1"; the proof names that origin and the path, without the query.
        let proof = signer.proof(method: "GET", url: "http://127.0.0.1/items", iat: now, accessToken: token)
        let ok = try await p.call(
            "GET", "/items?page=2", route: "r", key: "", headers: ["Authorization": "DPoP \(token)", "DPoP": proof])
        #expect(ok.status == 200)
        #expect(ok.header("dpop-nonce") != nil)
        #expect(p.upstream.requests.last?.header("dpop") == nil)  // the proof is KnoxCall's, not the upstream's
        let replay = try await p.call(
            "GET", "/items", route: "r", key: "", headers: ["Authorization": "DPoP \(token)", "DPoP": proof])
        #expect(replay.status == 401 && replay.errorType == "invalid_dpop_proof")
        #expect(replay.header("www-authenticate")?.contains("invalid_dpop_proof") == true)
        #expect(replay.header("dpop-nonce") != nil)
        let bearer = try await p.call(
            "GET", "/items", route: "r", key: "", headers: ["Authorization": "Bearer \(token)"])
        #expect(bearer.status == 401 && bearer.errorType == "invalid_dpop_proof")
        let otherKey = DPoPSigner().proof(method: "GET", url: "http://127.0.0.1/items", iat: now, accessToken: token)
        let stolen = try await p.call(
            "GET", "/items", route: "r", key: "", headers: ["Authorization": "DPoP \(token)", "DPoP": otherKey])
        #expect(stolen.status == 401 && stolen.errorType == "invalid_dpop_proof")
        #expect(p.upstream.requests.count == 1)
        let nonce = ok.header("dpop-nonce") ?? ""
        let withNonce = signer.proof(
            method: "GET", url: "http://127.0.0.1/items", iat: now, accessToken: token, nonce: nonce)
        #expect(
            try await p.call(
                "GET", "/items", route: "r", key: "", headers: ["Authorization": "DPoP \(token)", "DPoP": withNonce]
            ).status == 200)
        let badNonce = signer.proof(
            method: "GET", url: "http://127.0.0.1/items", iat: now, accessToken: token, nonce: "stale")
        let refused = try await p.call(
            "GET", "/items", route: "r", key: "", headers: ["Authorization": "DPoP \(token)", "DPoP": badNonce])
        #expect(refused.status == 401 && refused.header("www-authenticate")?.contains("use_dpop_nonce") == true)
    }

    @Test func routeAndEnvironmentErrors() async throws {
        let p = try await ProxyFixture()
        _ = try await p.engine.createEnvironment(json(#"{"name":"staging"}"#), console)
        _ = try await p.engine.createEnvironment(json(#"{"name":"qa"}"#), console)
        let r = try await p.route("R")
        let id = try #require(r["id"]?.stringValue)
        _ = try await p.engine.putRouteEnvironment(id, "qa", json(#"{"enabled":false}"#), console)
        #expect(try await p.call(route: "missing").errorType == "route_not_found")
        #expect(try await p.call(route: id).status == 200)  // by id
        #expect(try await p.call(route: "R").status == 200)  // by (legacy) name
        let notConfigured = try await p.call(route: "r", headers: ["x-knoxcall-environment": "staging"])
        #expect(notConfigured.status == 404 && notConfigured.errorType == "environment_not_configured")
        let disabled = try await p.call(route: "r", headers: ["x-knoxcall-environment": "qa"])
        #expect(disabled.status == 404 && disabled.errorType == "environment_disabled")
        _ = try await p.engine.updateRoute(id, json(#"{"enabled":false}"#), console)
        let off = try await p.call(route: "r")
        #expect(off.status == 404 && off.errorType == "route_not_found")
    }

    @Test func clientsRule() async throws {
        let p = try await ProxyFixture()
        let r = try await p.route("R", extra: #""requires_clients":true"#)
        let rid = try #require(r["id"]?.stringValue)
        // A key alone is not enough on a route that requires clients.
        let noClient = try await p.call(route: "r")
        #expect(noClient.status == 403 && noClient.errorType == "ip_not_allowed")
        let other = try await p.engine.createClient(json(#"{"name":"elsewhere","ip_address":"10.0.0.0/8"}"#), console)
            .data
        _ = try await p.engine.assignClient(rid, other["id"]?.stringValue ?? "", nil, console)
        #expect(try await p.call(route: "r").errorType == "ip_not_allowed")
        let local = try await p.engine.createClient(json(#"{"name":"loopback","ip_address":"127.0.0.0/8"}"#), console)
            .data
        let cid = try #require(local["id"]?.stringValue)
        _ = try await p.engine.assignClient(rid, cid, nil, console)
        #expect(try await p.call(route: "r").status == 200)
        // An assigned client is identified by its address alone, without a key.
        let byAddress = try await p.call(route: "r", key: "")
        #expect(byAddress.status == 200)
        let logs = try await p.logs()
        #expect(logs.last?.identificationMethod == "client_ip")
        #expect(logs.last?.matchedClientId == cid)
        // Disabling or removing the client applies to the very next request.
        _ = try await p.engine.updateClient(cid, json(#"{"enabled":false}"#), console)
        #expect(try await p.call(route: "r", key: "").status == 401)
        #expect(try await p.call(route: "r").errorType == "ip_not_allowed")
    }

    @Test func methodAllowlistAndOrder() async throws {
        let p = try await ProxyFixture()
        try await p.route("M", extra: #""allowed_methods":["GET"]"#)
        #expect(try await p.call("GET", route: "m").status == 200)
        let post = try await p.call("POST", route: "m", body: "")
        #expect(post.status == 405 && post.errorType == "method_not_allowed")
        try await p.route("A", extra: #""ip_allowlist":["10.0.0.0/8","::1"]"#)
        let denied = try await p.call(route: "a")
        #expect(denied.status == 403 && denied.errorType == "ip_not_allowed")
        try await p.route("B", extra: #""ip_allowlist":["127.0.0.1"]"#)
        #expect(try await p.call(route: "b").status == 200)
        // Method is checked before the allowlist.
        try await p.route("Both", extra: #""allowed_methods":["GET"],"ip_allowlist":["10.0.0.0/8"]"#)
        #expect(try await p.call("DELETE", route: "both").errorType == "method_not_allowed")
    }

    func signed(
        _ p: ProxyFixture, secret: String, offset: Int64 = 0, method: String = "POST", path: String = "/pay?x=1",
        body: String,
        tamper: Bool = false
    ) async throws -> RawHTTP.Response {
        let timestamp = String(p.fixture.clock.nowMillis() / 1000 + offset)
        var signature = RequestSignature.compute(
            secret: SecretValue(secret), timestamp: timestamp, method: method, pathWithQuery: path,
            body: Array(body.utf8))
        if tamper { signature = String(signature.reversed()) }
        return try await p.call(
            method, path, route: "s",
            headers: ["X-Timestamp": timestamp, "X-Signature": signature, "Content-Type": "application/json"],
            body: body)
    }

    @Test func signatures() async throws {
        let p = try await ProxyFixture()
        let sid = try await p.secret("SIGNING", "signing-key")
        try await p.route(
            "S", extra: #""require_signature":true,"signing_secret_id":"\#(sid)","signature_tolerance_sec":60"#)
        let ok = try await signed(p, secret: "signing-key", body: #"{"amount":5}"#)
        #expect(ok.status == 200)
        #expect(p.upstream.requests.first?.header("X-Signature") == nil)
        #expect(try await signed(p, secret: "signing-key", offset: -61, body: "{}").errorType == "signature_expired")
        #expect(try await signed(p, secret: "signing-key", offset: 61, body: "{}").errorType == "signature_expired")
        #expect(try await signed(p, secret: "signing-key", offset: 59, body: "{}").status == 200)
        #expect(try await signed(p, secret: "signing-key", body: "{}", tamper: true).errorType == "signature_invalid")
        #expect(try await signed(p, secret: "other-key", body: "{}").errorType == "signature_invalid")
        let missing = try await p.call("POST", "/pay", route: "s", body: "{}")
        #expect(missing.status == 401 && missing.errorType == "signature_missing")
        // GET with no body signs the empty body.
        #expect(try await signed(p, secret: "signing-key", method: "GET", path: "/q", body: "").status == 200)
        let logs = try await p.logs()
        #expect(logs.map(\.signatureValid) == [true, false, false, true, false, false, false, true])
        #expect(p.upstream.requests.count == 3)
    }

    /// The signing secret goes through the one secret opener when the signature is checked: a value that no longer
    /// opens is refused then (nothing reaches the upstream, nothing of either value is said), and an expiry enforced
    /// strictly applies to injected secrets, not to the key a caller signs with.
    @Test func theSigningSecretIsOpenedWhenTheSignatureIsChecked() async throws {
        let p = try await ProxyFixture()
        let expires = JSONValue.string(Timestamp.format(millis: p.fixture.clock.nowMillis() + 60_000))
        let strict: JSONValue = [
            "name": "SIGNING", "value": "signing-key-5555", "expires_at": expires,
            "strict_expiry_enforcement": .bool(true),
        ]
        let sid = try await p.engine.createSecret(strict, console).data["id"]?.stringValue ?? ""
        _ = try await p.secret("OTHER", "other-value-6666")
        try await p.route(
            "S", extra: #""require_signature":true,"signing_secret_id":"\#(sid)","signature_tolerance_sec":60"#)
        #expect(try await signed(p, secret: "signing-key-5555", body: "{}").status == 200)
        // Expired, with strict enforcement: the signature still verifies.
        p.fixture.clock.advance(seconds: 61)
        #expect(try await signed(p, secret: "signing-key-5555", body: "{}").status == 200)
        // SIGNING's stored value replaced by OTHER's ciphertext: it no longer authenticates.
        try await p.sealValues(of: sid, withCiphertextOf: "OTHER")
        let sent = p.upstream.requests.count
        let refused = try await signed(p, secret: "signing-key-5555", body: #"{"amount":5}"#)
        #expect(refused.errorType == "dependency_unavailable", "\(refused.text)")
        #expect(refused.text.contains("signing secret cannot be read"))
        #expect(!refused.text.contains("signing-key-5555") && !refused.text.contains("other-value-6666"))
        #expect(p.upstream.requests.count == sent)
    }

    @Test func signatureIsCheckedBeforeTheRateLimit() async throws {
        let p = try await ProxyFixture()
        let sid = try await p.secret("SIGNING", "k")
        try await p.route(
            "S",
            extra:
                #""require_signature":true,"signing_secret_id":"\#(sid)","rate_limit_enabled":true,"rate_limit_requests":1,"rate_limit_window_sec":3600"#
        )
        // A bad signature does not spend the only token.
        #expect(try await signed(p, secret: "wrong", body: "{}").errorType == "signature_invalid")
        #expect(try await signed(p, secret: "k", body: "{}").status == 200)
        let limited = try await signed(p, secret: "k", body: "{}")
        #expect(limited.status == 429 && limited.errorType == "rate_limit_exceeded")
        #expect(limited.header("Retry-After") != nil)
    }

    @Test func upstreamDownAndSlow() async throws {
        let p = try await ProxyFixture()
        _ = try await p.engine.createRoute(json(#"{"name":"Down","target_base_url":"http://127.0.0.1:1"}"#), console)
        let down = try await p.call(route: "down")
        #expect(down.status == 502 && down.errorType == "upstream_unreachable")
        #expect(down.header("X-Knox-Upstream-Status") == nil)
        try await p.route("Slow", extra: #""upstream_timeout_sec":1"#)
        let started = Date()
        // The upstream would answer after 6 s: the 1 s timeout answers long before (a loaded machine adds seconds).
        let slow = try await p.call("GET", "/slow?ms=6000", route: "slow")
        #expect(slow.status == 504 && slow.errorType == "upstream_timeout")
        #expect(Date().timeIntervalSince(started) < 4.5)
        let closing = try await p.call("GET", "/close", route: "slow")
        #expect(closing.status == 502)
        // The upstream's own statuses come back raw, with the header that says it answered.
        let teapot = try await p.call("GET", "/status/418", route: "slow")
        #expect(teapot.status == 418 && teapot.header("X-Knox-Upstream-Status") == "418")
        let unauthorized = try await p.call("GET", "/status/401", route: "slow")
        #expect(unauthorized.status == 401 && unauthorized.header("X-Knox-Upstream-Status") == "401")
        let logs = try await p.logs()
        #expect(logs.map(\.error) == ["upstream_unreachable", "upstream_timeout", "upstream_unreachable", nil, nil])
        #expect(logs.suffix(2).map(\.upstreamStatus) == [418, 401])
    }

    /// An upstream given by IPv4 or IPv6 address is connected to directly, one given by name through the resolver;
    /// all three answer, and keep-alive connections are reused for each (the fixture has two event loops, each with its
    /// own pool: four requests over at most two upstream connections).
    @Test func upstreamsByAddressAndByName() async throws {
        let p = try await ProxyFixture()
        let v6 = try TestUpstream(host: "::1")
        defer { v6.stop() }
        _ = try await p.engine.createRoute(json(#"{"name":"V4","target_base_url":"\#(p.upstream.url)"}"#), console)
        _ = try await p.engine.createRoute(json(#"{"name":"V6","target_base_url":"\#(v6.url)/six"}"#), console)
        _ = try await p.engine.createRoute(
            json(#"{"name":"Named","target_base_url":"http://localhost:\#(p.upstream.port)/named"}"#), console)
        for _ in 0..<4 {
            #expect(try await p.call("GET", "/a", route: "v4").status == 200)
            #expect(try await p.call("GET", "/b", route: "v6").status == 200)
            #expect(try await p.call("GET", "/c", route: "named").status == 200)
        }
        #expect(v6.requests.map(\.uri) == Array(repeating: "/six/b", count: 4))
        #expect(v6.requests.first?.header("Host") == "[::1]:\(v6.port)")
        #expect(p.upstream.requests.map(\.uri) == Array(Array(repeating: ["/a", "/named/c"], count: 4).joined()))
        #expect(Set(v6.requests.map(\.connection)).count <= 2)
        #expect(Set(p.upstream.requests.map(\.connection)).count <= 4)
        #expect(UpstreamPool.socketAddress(host: "127.0.0.1", port: 8080)?.port == 8080)
        #expect(UpstreamPool.socketAddress(host: "::1", port: 443)?.protocol == .inet6)
        #expect(UpstreamPool.socketAddress(host: "localhost", port: 80) == nil)
        #expect(UpstreamPool.socketAddress(host: "1.2.3", port: 80) == nil)
    }

    /// Timeouts are checked per exchange among many in flight: slow and quick requests interleaved on one loop, each
    /// gets its own outcome (the deadline list drops exchanges as they are answered).
    @Test func timeoutsAmongManyExchangesInFlight() async throws {
        let p = try await ProxyFixture()
        try await p.route("Slow", extra: #""upstream_timeout_sec":1"#)
        let statuses = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<12 {
                group.addTask {
                    let path = i % 2 == 0 ? "/slow?ms=2500" : "/slow?ms=\(50 * i)"
                    return (i, try await p.call("GET", path, route: "slow").status)
                }
            }
            var out: [Int: Int] = [:]
            for try await (i, status) in group { out[i] = status }
            return out
        }
        for i in 0..<12 { #expect(statuses[i] == (i % 2 == 0 ? 504 : 200), "request \(i)") }
        let logs = try await p.logs()
        #expect(logs.filter { $0.error == "upstream_timeout" }.count == 6)
        #expect(logs.filter { $0.statusCode == 200 }.count == 6)
    }
}
