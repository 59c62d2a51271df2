import Foundation
import KnoxAPI
import KnoxCore
import KnoxCrypto
import KnoxEngine
import KnoxTestSupport
import Testing

/// The authorization-code grant with PKCE S256, the consent page, and rotating refresh tokens with theft detection.
@Suite struct OAuthCodeFlowTests {
    static let callback = "http://127.0.0.1:9999/callback"
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-twice-as-long"
    static var challenge: String { Base64URL.encode(KeyHasher.hash(verifier)) }

    /// A client (API key) with the callback registered.
    static func client(_ api: APIFixture, role: Role = .admin) async throws -> String {
        try await api.live.makeKey("CLI login", role: role, extra: ["redirect_uris": [.string(callback)]])
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? text
    }

    static func get(_ api: APIFixture, _ target: String) async -> APIResponse {
        let (path, query) = APIRequest.split(target: target)
        return await api.liveAPI.handle(
            APIRequest(
                method: "GET", path: path, rawQuery: query, headers: [("Host", "127.0.0.1:8700")], body: [],
                remoteAddress: "127.0.0.1"))
    }

    static func authorizeURL(
        _ clientId: String, challenge: String = challenge, method: String = "S256", scope: String? = nil,
        redirect: String = callback
    ) -> String {
        var q =
            "response_type=code&client_id=\(clientId)&redirect_uri=\(Self.encode(redirect))&state=xyz"
            + "&code_challenge=\(challenge)&code_challenge_method=\(method)"
        if let scope { q += "&scope=" + Self.encode(scope) }
        return "/oauth/authorize?" + q
    }

    static func requestId(_ page: APIResponse) -> String? {
        let html = String(decoding: page.body, as: UTF8.self)
        guard let r = html.range(of: "request=") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" && $0 != "&" })
    }

    static func query(_ location: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (location.split(separator: "?", maxSplits: 1).last ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            out[String(kv[0])] = kv.count > 1 ? String(kv[1]).removingPercentEncoding : ""
        }
        return out
    }

    /// Runs the browser side up to the code: request, operator approval in the console, poll.
    static func code(_ api: APIFixture, _ key: String, scope: String? = nil) async throws -> String {
        let page = await get(api, authorizeURL(OAuthTests.split(key).id, scope: scope))
        let id = try #require(requestId(page))
        _ = try await api.live.decideAuthorization(id, approve: true, RequestContext(actor: .console))
        let back = await get(api, "/oauth/authorize?request=\(id)")
        #expect(back.status == 302)
        let q = query(back.header("Location") ?? "")
        #expect(q["state"] == "xyz")
        return try #require(q["code"])
    }

    static func redeem(
        _ api: APIFixture, _ key: String, code: String, verifier: String = verifier, redirect: String = callback,
        publicClient: Bool = false
    ) async -> (status: Int, json: JSONValue, response: APIResponse) {
        let form =
            "grant_type=authorization_code&code=\(code)&redirect_uri=\(Self.encode(redirect))&code_verifier=\(verifier)"
        if publicClient {
            return await OAuthTests.oauth(api, "/oauth/token", form + "&client_id=\(OAuthTests.split(key).id)")
        }
        return await OAuthTests.oauth(api, "/oauth/token", form, basic: key)
    }

    @Test func fullFlowWithConsentInTheConsole() async throws {
        let api = try await APIFixture()
        let key = try await Self.client(api)
        let page = await Self.get(api, Self.authorizeURL(OAuthTests.split(key).id, scope: "routes:read proxy:invoke"))
        #expect(page.status == 200)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.header("X-Frame-Options") == "DENY")
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains("CLI login") && html.contains("routes:read") && html.contains(Self.callback))
        #expect(!html.contains(OAuthTests.split(key).secret))
        let id = try #require(Self.requestId(page))
        // The console sees it pending; the page keeps waiting until a decision.
        let pending = try await api.live.pendingAuthorizations()
        #expect(pending.map(\.request.id) == [id] && pending.first?.clientName == "CLI login")
        #expect(await Self.get(api, "/oauth/authorize?request=\(id)").status == 200)
        _ = try await api.live.decideAuthorization(id, approve: true, RequestContext(actor: .console))
        let back = await Self.get(api, "/oauth/authorize?request=\(id)")
        #expect(back.status == 302)
        let q = Self.query(back.header("Location") ?? "")
        #expect(back.header("Location")?.hasPrefix(Self.callback + "?") == true)
        let code = try #require(q["code"])
        #expect(q["state"] == "xyz")
        // The code goes out once.
        #expect(await Self.get(api, "/oauth/authorize?request=\(id)").status == 400)
        // Wrong verifier or redirect: refused, and the code is still good for the right request.
        let badVerifier = await Self.redeem(api, key, code: code, verifier: String(repeating: "a", count: 43))
        #expect(badVerifier.status == 400 && badVerifier.json["error"]?.stringValue == "invalid_grant")
        let badRedirect = await Self.redeem(api, key, code: code, redirect: "http://127.0.0.1:9999/other")
        #expect(badRedirect.status == 400 && badRedirect.json["error"]?.stringValue == "invalid_grant")
        let tokens = await Self.redeem(api, key, code: code)
        #expect(tokens.status == 200)
        let access = try #require(tokens.json["access_token"]?.stringValue)
        let refresh = try #require(tokens.json["refresh_token"]?.stringValue)
        #expect(refresh.hasPrefix("kcr_live_"))
        #expect(tokens.json["scope"]?.stringValue == "routes:read proxy:invoke")
        #expect(await api.call("GET", "/v1/routes", key: access).status == 200)
        // A refresh token is not an access token.
        #expect(await api.call("GET", "/v1/routes", key: refresh).status == 401)
        // The code again: refused, and what it minted is revoked (RFC 6749 §4.1.2).
        let again = await Self.redeem(api, key, code: code)
        #expect(again.status == 400 && again.json["error"]?.stringValue == "invalid_grant")
        #expect(await api.call("GET", "/v1/routes", key: access).status == 401)
        let audit = await api.call("GET", "/v1/audit-logs?per_page=100")
        let actions = audit.json["data"]?.arrayValue?.compactMap { $0["action"]?.stringValue } ?? []
        for action in [
            "oauth_authorization.approved", "oauth_authorization.code_issued",
            "oauth_token.issued", "oauth_token.family_revoked",
        ] {
            #expect(actions.contains(action), "\(action)")
        }
        let text = String(decoding: audit.response.body, as: UTF8.self)
        #expect(!text.contains(code) && !text.contains(access) && !text.contains(refresh))
    }

    @Test func refreshTokensRotateAndReuseRevokesTheFamily() async throws {
        let api = try await APIFixture()
        let key = try await Self.client(api)
        let first = await Self.redeem(api, key, code: try await Self.code(api, key, scope: "routes:read proxy:invoke"))
        let refresh1 = try #require(first.json["refresh_token"]?.stringValue)
        func refresh(_ token: String, scope: String? = nil) async -> (
            status: Int, json: JSONValue, response: APIResponse
        ) {
            await OAuthTests.oauth(
                api, "/oauth/token",
                "grant_type=refresh_token&refresh_token=\(token)" + (scope.map { "&scope=" + $0 } ?? ""), basic: key)
        }
        let second = await refresh(refresh1)
        #expect(second.status == 200)
        let refresh2 = try #require(second.json["refresh_token"]?.stringValue)
        let access2 = try #require(second.json["access_token"]?.stringValue)
        #expect(refresh2 != refresh1)
        #expect(await api.call("GET", "/v1/routes", key: access2).status == 200)
        // Narrowing is allowed, widening is not.
        let wider = await refresh(refresh2, scope: "routes:write")
        #expect(wider.status == 400 && wider.json["error"]?.stringValue == "invalid_scope")
        let unknown = await refresh(refresh2, scope: "nonsense:thing")
        #expect(unknown.status == 400 && unknown.json["error"]?.stringValue == "invalid_scope")
        let narrower = await refresh(refresh2, scope: "routes:read")
        #expect(narrower.status == 200 && narrower.json["scope"]?.stringValue == "routes:read")
        let refresh3 = try #require(narrower.json["refresh_token"]?.stringValue)
        let access3 = try #require(narrower.json["access_token"]?.stringValue)
        // Theft: the spent refresh1 comes back. Refused, and the whole family dies, including the newest tokens.
        let stolen = await refresh(refresh1)
        #expect(stolen.status == 400 && stolen.json["error"]?.stringValue == "invalid_grant")
        #expect(await api.call("GET", "/v1/routes", key: access3).status == 401)
        #expect(await refresh(refresh3).status == 400)
        let refreshed = await api.call("GET", "/v1/audit-logs?action=oauth_token.refreshed")
        #expect(refreshed.json["data"]?.arrayValue?.count == 2)
        let audit = await api.call("GET", "/v1/audit-logs?action=oauth_token.family_revoked")
        let row = try #require(audit.json["data"]?.arrayValue?.first)
        #expect(row["details"]?["reason"]?.stringValue == "refresh_token_reuse")
        #expect(row["details"]?["security_event"] == .bool(true))
        // Another client cannot use it at all.
        let other = try await Self.client(api)
        let fresh = await Self.redeem(api, key, code: try await Self.code(api, key))
        let theirs = try #require(fresh.json["refresh_token"]?.stringValue)
        let wrongClient = await OAuthTests.oauth(
            api, "/oauth/token", "grant_type=refresh_token&refresh_token=\(theirs)", basic: other)
        #expect(wrongClient.status == 400 && wrongClient.json["error"]?.stringValue == "invalid_grant")
        // Refresh tokens expire (30 days).
        api.fixture.clock.advance(seconds: 30 * 24 * 3600 + 1)
        let expired = await OAuthTests.oauth(
            api, "/oauth/token", "grant_type=refresh_token&refresh_token=\(theirs)", basic: key)
        #expect(expired.status == 400 && expired.json["error"]?.stringValue == "invalid_grant")
    }

    @Test func requestsThatCannotGoBackAreShownAndTheOthersGoBackWithAnError() async throws {
        let api = try await APIFixture()
        let key = try await Self.client(api)
        let id = OAuthTests.split(key).id
        let unknown = await Self.get(api, Self.authorizeURL("tk_live_nobodyatall"))
        #expect(unknown.status == 400 && unknown.header("Location") == nil)
        #expect(String(decoding: unknown.body, as: UTF8.self).contains("Unknown client"))
        let unregistered = await Self.get(api, Self.authorizeURL(id, redirect: "http://127.0.0.1:9999/evil"))
        #expect(unregistered.status == 400 && unregistered.header("Location") == nil)
        for (url, error) in [
            (Self.authorizeURL(id, challenge: "short"), "invalid_request"),
            (Self.authorizeURL(id, method: "plain"), "invalid_request"),
            (Self.authorizeURL(id, scope: "bogus"), "invalid_scope"),
            (
                Self.authorizeURL(id).replacingOccurrences(of: "response_type=code", with: "response_type=token"),
                "unsupported_response_type"
            ),
        ] {
            let r = await Self.get(api, url)
            #expect(r.status == 302, "\(url)")
            let q = Self.query(r.header("Location") ?? "")
            #expect(q["error"] == error && q["state"] == "xyz", "\(url)")
        }
        // Denied in the console: back with access_denied.
        let page = await Self.get(api, Self.authorizeURL(id))
        let request = try #require(Self.requestId(page))
        _ = try await api.live.decideAuthorization(request, approve: false, RequestContext(actor: .console))
        let denied = await Self.get(api, "/oauth/authorize?request=\(request)")
        #expect(Self.query(denied.header("Location") ?? "")["error"] == "access_denied")
        // Scripted HTML never comes back unescaped.
        let xss = await Self.get(api, Self.authorizeURL("<script>alert(1)</script>"))
        #expect(!String(decoding: xss.body, as: UTF8.self).contains("<script>alert"))
    }

    @Test func approvalOnThePageNeedsAKeyThatMayManageKeys() async throws {
        let api = try await APIFixture()
        let key = try await Self.client(api)
        let page = await Self.get(api, Self.authorizeURL(OAuthTests.split(key).id))
        let id = try #require(Self.requestId(page))
        func post(_ form: String) async -> APIResponse {
            await api.liveAPI.handle(
                APIRequest(
                    method: "POST", path: "/oauth/authorize", rawQuery: nil,
                    headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Host", "127.0.0.1:8700")],
                    body: Array(form.utf8), remoteAddress: "127.0.0.1"))
        }
        let readOnly = try await api.live.makeKey("ro", role: .readOnly)
        let refused = await post("request=\(id)&decision=approve&api_key=\(readOnly)")
        #expect(refused.status == 400 && String(decoding: refused.body, as: UTF8.self).contains("api_keys:write"))
        #expect(!String(decoding: refused.body, as: UTF8.self).contains(readOnly))
        let bogus = await post("request=\(id)&decision=approve&api_key=tk_live_xxxxxxxxxxxx_yyyy")
        #expect(bogus.status == 400)
        let approved = await post("request=\(id)&decision=approve&api_key=\(api.liveKey)")
        #expect(approved.status == 302)
        let code = try #require(Self.query(approved.header("Location") ?? "")["code"])
        // A public client (client_id alone) redeems with PKCE.
        let tokens = await Self.redeem(api, key, code: code, publicClient: true)
        #expect(tokens.status == 200 && tokens.json["refresh_token"] != nil)
    }

    @Test func codesAndRequestsExpire() async throws {
        let api = try await APIFixture()
        let key = try await Self.client(api)
        let code = try await Self.code(api, key)
        api.fixture.clock.advance(seconds: 61)
        let late = await Self.redeem(api, key, code: code)
        #expect(late.status == 400 && late.json["error"]?.stringValue == "invalid_grant")
        let page = await Self.get(api, Self.authorizeURL(OAuthTests.split(key).id))
        let id = try #require(Self.requestId(page))
        api.fixture.clock.advance(seconds: 601)
        let stale = await Self.get(api, "/oauth/authorize?request=\(id)")
        #expect(Self.query(stale.header("Location") ?? "")["error"] == "access_denied")
        await #expect(throws: ApiError.self) {
            try await api.live.decideAuthorization(id, approve: true, RequestContext(actor: .console))
        }
    }

    @Test func redirectURIsAreValidatedWhenRegistered() async throws {
        let api = try await APIFixture()
        for bad in ["http://example.com/cb", "ftp://127.0.0.1/cb", "https://example.com/cb#frag", "not a uri"] {
            let r = await api.call(
                "POST", "/v1/api-keys", body: #"{"name":"c","never_expires":true,"redirect_uris":["\#(bad)"]}"#)
            #expect(r.status == 400 && r.json["error"]?["field"]?.stringValue == "redirect_uris[0]", "\(bad)")
        }
        let ok = await api.call(
            "POST", "/v1/api-keys",
            body:
                #"{"name":"c","never_expires":true,"redirect_uris":["https://app.example.com/cb","http://[::1]:8000/cb"]}"#
        )
        #expect(ok.status == 201 && ok.json["data"]?["redirect_uris"]?.arrayValue?.count == 2)
    }
}
