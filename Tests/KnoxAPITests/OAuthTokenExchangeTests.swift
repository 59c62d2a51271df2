import Foundation
import KnoxAPI
import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Testing

/// RFC 8693 token exchange for workload identity: trusted issuers from configuration, every check on the assertion.
@Suite struct OAuthTokenExchangeTests {
    static let grant = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let idType = "urn:ietf:params:oauth:token-type:id_token"

    static func fixture(_ issuer: TestIssuer, other: TestIssuer? = nil) async throws -> APIFixture {
        var config = KnoxConfig()
        config.workloadIssuers = [
            WorkloadIssuer(
                issuer: issuer.issuer, audience: "knoxcall:api", jwksFile: "issuer-jwks.json",
                subjects: [
                    SubjectRule(pattern: "repo:acme/deploy:ref:refs/heads/main", role: .editor),
                    SubjectRule(pattern: "repo:acme/*", role: .invoke),
                ])
        ]
        if let other {
            config.workloadIssuers.append(
                WorkloadIssuer(
                    issuer: other.issuer, audience: "knoxcall:api", jwksFile: "other-jwks.json",
                    subjects: [SubjectRule(pattern: "*", role: .readOnly)], modes: [.test]))
        }
        let api = try await APIFixture(config: config)
        try issuer.jwks().write(toFile: api.fixture.dir.file("issuer-jwks.json"), atomically: true, encoding: .utf8)
        if let other {
            try other.jwks().write(toFile: api.fixture.dir.file("other-jwks.json"), atomically: true, encoding: .utf8)
        }
        return api
    }

    static func exchange(_ api: APIFixture, _ assertion: String, extra: String = "", mode: Mode = .live) async
        -> (status: Int, json: JSONValue, response: APIResponse)
    {
        await OAuthTests.oauth(
            api, "/oauth/token",
            "grant_type=\(grant)&subject_token_type=\(idType)&subject_token=\(assertion)&audience=knoxcall:api" + extra,
            mode: mode)
    }

    static func now(_ api: APIFixture) -> Int64 { api.fixture.clock.nowMillis() / 1000 }

    @Test func aTrustedWorkloadGetsATokenWithItsSubjectsRole() async throws {
        let issuer = try TestIssuer()
        let api = try await Self.fixture(issuer)
        let assertion = try issuer.idToken(subject: "repo:acme/deploy:ref:refs/heads/main", now: Self.now(api))
        let r = await Self.exchange(api, assertion)
        #expect(r.status == 200)
        #expect(r.json["issued_token_type"]?.stringValue == "urn:ietf:params:oauth:token-type:access_token")
        #expect(r.json["token_type"]?.stringValue == "Bearer" && r.json["expires_in"] == .int(3600))
        let token = try #require(r.json["access_token"]?.stringValue)
        // Editor: may create routes, may not manage keys.
        let created = await api.call(
            "POST", "/v1/routes", body: #"{"name":"By CI","target_base_url":"https://example.com"}"#, key: token)
        #expect(created.status == 201)
        #expect(
            await api.call("POST", "/v1/api-keys", body: #"{"name":"escalate","never_expires":true}"#, key: token)
                .status == 403)
        // The audit log names the workload, never the token or the assertion.
        let audit = await api.call("GET", "/v1/audit-logs?per_page=100")
        let rows = audit.json["data"]?.arrayValue ?? []
        #expect(
            rows.contains {
                $0["action"]?.stringValue == "route.created"
                    && $0["actor"]?.stringValue == "workload:repo:acme/deploy:ref:refs/heads/main"
            })
        #expect(
            rows.contains {
                $0["action"]?.stringValue == "oauth_token.issued"
                    && $0["details"]?["issuer"]?.stringValue == issuer.issuer
            })
        let text = String(decoding: audit.response.body, as: UTF8.self)
        #expect(!text.contains(token) && !text.contains(assertion))
        // Single use.
        let again = await Self.exchange(api, assertion)
        #expect(again.status == 400 && again.json["error"]?.stringValue == "invalid_grant")
        #expect(again.json["error_description"]?.stringValue?.contains("already") == true)
        // A prefix rule, ES256, and scope narrowing.
        let es = try issuer.idToken(subject: "repo:acme/tools:ref:refs/heads/dev", now: Self.now(api), alg: "ES256")
        let narrowed = await Self.exchange(api, es, extra: "&scope=proxy:invoke")
        #expect(narrowed.status == 200 && narrowed.json["scope"]?.stringValue == "proxy:invoke")
        let wider = await Self.exchange(
            api, try issuer.idToken(subject: "repo:acme/tools", now: Self.now(api)), extra: "&scope=routes:write")
        #expect(wider.status == 400 && wider.json["error"]?.stringValue == "invalid_scope")
    }

    @Test func everyClaimIsChecked() async throws {
        let issuer = try TestIssuer()
        let stranger = try TestIssuer(issuer: "https://evil.example.test")
        let api = try await Self.fixture(issuer)
        let t = Self.now(api)
        let subject = "repo:acme/deploy:ref:refs/heads/main"
        var forged = try issuer.idToken(subject: subject, now: t)
        forged = String(forged.dropLast(6)) + "AAAAAA"
        let cases: [(String, String, String)] = [
            ("untrusted issuer", try stranger.idToken(subject: subject, now: t), "not trusted"),
            ("forged signature", forged, "signature"),
            (
                "key of another issuer", try TestIssuer(issuer: issuer.issuer).idToken(subject: subject, now: t),
                "signature"
            ),
            ("wrong audience", try issuer.idToken(subject: subject, audience: "someone-else", now: t), "aud"),
            ("expired", try issuer.idToken(subject: subject, now: t, claims: ["exp": String(t - 120)]), "expired"),
            ("not yet valid", try issuer.idToken(subject: subject, now: t, claims: ["nbf": String(t + 600)]), "nbf"),
            ("no exp", try issuer.idToken(subject: subject, now: t, claims: ["exp": "null"]), "exp"),
            ("unmapped subject", try issuer.idToken(subject: "repo:other/x", now: t), "not mapped"),
            ("unknown kid", try issuer.idToken(subject: subject, now: t, kid: "rotated-away"), "kid"),
            ("not a JWT", "abc.def", "not a JWT"),
        ]
        for (label, assertion, why) in cases {
            let r = await Self.exchange(api, assertion)
            #expect(r.status == 400 && r.json["error"]?.stringValue == "invalid_grant", "\(label): \(r.json)")
            #expect(r.json["error_description"]?.stringValue?.contains(why) == true, "\(label): \(r.json)")
        }
        // An audience in a list is fine; the request's own audience must be KnoxCall's API.
        let listed = try issuer.idToken(subject: subject, now: t, claims: ["aud": #"["other","knoxcall:api"]"#])
        #expect(await Self.exchange(api, listed).status == 200)
        let target = await OAuthTests.oauth(
            api, "/oauth/token",
            "grant_type=\(Self.grant)&subject_token_type=\(Self.idType)&subject_token=\(try issuer.idToken(subject: subject, now: t))&audience=knoxcall:gateway"
        )
        #expect(target.status == 400 && target.json["error"]?.stringValue == "invalid_target")
        let type = await OAuthTests.oauth(
            api, "/oauth/token",
            "grant_type=\(Self.grant)&subject_token_type=urn:x&subject_token=\(try issuer.idToken(subject: subject, now: t))"
        )
        #expect(type.status == 400 && type.json["error"]?.stringValue == "invalid_request")
    }

    @Test func issuersAreTrustedPerModeAndTokensStayOnTheirSide() async throws {
        let issuer = try TestIssuer()
        let sandboxOnly = try TestIssuer(issuer: "https://sandbox-ci.example.test")
        let api = try await Self.fixture(issuer, other: sandboxOnly)
        let t = Self.now(api)
        let onLive = await Self.exchange(api, try sandboxOnly.idToken(subject: "anything", now: t))
        #expect(onLive.status == 400 && onLive.json["error_description"]?.stringValue?.contains("not trusted") == true)
        let onTest = await Self.exchange(api, try sandboxOnly.idToken(subject: "anything", now: t), mode: .test)
        #expect(onTest.status == 200)
        let token = try #require(onTest.json["access_token"]?.stringValue)
        #expect(token.hasPrefix("kc_test_"))
        #expect(await api.call("GET", "/v1/routes", key: token, mode: .test).status == 200)
        let crossed = await api.call("GET", "/v1/routes", key: token, mode: .live)
        #expect(crossed.status == 403 && crossed.json["error"]?["type"]?.stringValue == "wrong_key_type")
        // Workload tokens expire like the others.
        api.fixture.clock.advance(seconds: 3601)
        #expect(await api.call("GET", "/v1/routes", key: token, mode: .test).status == 401)
    }

    @Test func workloadIssuersAreValidatedInConfig() throws {
        let good = """
            [[oauth.workload_issuers]]
            issuer = "https://token.actions.githubusercontent.com"
            audience = "knoxcall:api"
            jwks_url = "https://token.actions.githubusercontent.com/.well-known/jwks"
            subjects = { "repo:acme/*" = "invoke", "repo:acme/deploy:ref:refs/heads/main" = "editor" }
            """
        let config = try KnoxConfig.parse(good)
        #expect(config.workloadIssuers.first?.role(for: "repo:acme/deploy:ref:refs/heads/main") == .editor)
        #expect(config.workloadIssuers.first?.role(for: "repo:acme/web") == .invoke)
        #expect(config.workloadIssuers.first?.role(for: "repo:other/web") == nil)
        for (text, field) in [
            (good.replacingOccurrences(of: "\"invoke\"", with: "\"superuser\""), "subjects"),
            (
                good.replacingOccurrences(
                    of: "jwks_url = \"https://token.actions.githubusercontent.com/.well-known/jwks\"", with: ""),
                "jwks_file"
            ),
            (
                good.replacingOccurrences(
                    of: "https://token.actions.githubusercontent.com/.well-known", with: "http://example.com"),
                "jwks_url"
            ),
            (good.replacingOccurrences(of: "audience = \"knoxcall:api\"", with: ""), "audience"),
            (good + "\nbogus = 1", "bogus"),
        ] {
            #expect(throws: ConfigError.self, "\(field)") { try KnoxConfig.parse(text) }
            do { _ = try KnoxConfig.parse(text) } catch { #expect(error.message.contains(field), "\(error.message)") }
        }
    }
}
