import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

/// The OAuth 2.1 authorization server (issue 6), driven in process through the management API's front door.
@Suite struct OAuthTests {
    /// `tk_live_<id>_<secret>` → (`tk_live_<id>`, `<secret>`), as SPEC splits a key.
    static func split(_ key: String) -> (id: String, secret: String) {
        let cut = key.lastIndex(of: "_")!
        return (String(key[..<cut]), String(key[key.index(after: cut)...]))
    }

    static func oauth(
        _ api: APIFixture, _ path: String, _ form: String, basic: String? = nil, mode: Mode = .live,
        method: String = "POST",
        contentType: String = "application/x-www-form-urlencoded"
    ) async -> (status: Int, json: JSONValue, response: APIResponse) {
        var headers: [(String, String)] = [("Content-Type", contentType), ("Host", "127.0.0.1:8700")]
        if let basic {
            let (id, secret) = split(basic)
            headers.append(("Authorization", "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()))
        }
        let request = APIRequest(
            method: method, path: path, rawQuery: nil, headers: headers, body: Array(form.utf8),
            remoteAddress: "127.0.0.1")
        let response = await (mode == .live ? api.liveAPI : api.testAPI).handle(request)
        return (response.status, (try? JSONValue.parse(response.body)) ?? .null, response)
    }

    static func mint(_ api: APIFixture, _ key: String, scope: String? = nil, mode: Mode = .live) async throws -> String
    {
        let form =
            "grant_type=client_credentials"
            + (scope.map { "&scope=" + $0.replacingOccurrences(of: " ", with: "+") } ?? "")
        let r = await oauth(api, "/oauth/token", form, basic: key, mode: mode)
        guard r.status == 200, let token = r.json["access_token"]?.stringValue else {
            throw TestFailure("mint failed: \(r.status) \(r.json)")
        }
        return token
    }

    @Test func clientCredentialsByBasicOrFormGiveAWorkingToken() async throws {
        let api = try await APIFixture()
        let r = await Self.oauth(api, "/oauth/token", "grant_type=client_credentials", basic: api.liveKey)
        #expect(r.status == 200)
        #expect(r.response.header("Cache-Control") == "no-store")
        let token = try #require(r.json["access_token"]?.stringValue)
        #expect(token.hasPrefix("kc_live_") && token.count == "kc_live_".count + 43)
        #expect(r.json["token_type"]?.stringValue == "Bearer")
        #expect(r.json["expires_in"] == .int(3600))
        #expect(r.json["tenant"]?.stringValue == "local")
        #expect(r.json["refresh_token"] == nil)  // client credentials get no refresh token (RFC 6749 §4.4.3)
        #expect(r.json["scope"]?.stringValue == "*:*")  // no scope asked: all of the admin key's permissions
        // The token is a credential of the management API at once.
        let created = await api.call(
            "POST", "/v1/routes", body: #"{"name":"Via token","target_base_url":"https://example.com"}"#, key: token)
        #expect(created.status == 201)
        // By form fields (client_secret_post) too.
        let (id, secret) = Self.split(api.liveKey)
        let post = await Self.oauth(
            api, "/oauth/token", "grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)")
        #expect(post.status == 200 && post.json["access_token"]?.stringValue?.hasPrefix("kc_live_") == true)
        // The audit log has the issuance and the change made with the token, never the token.
        let audit = await api.call("GET", "/v1/audit-logs?per_page=100")
        let rows = audit.json["data"]?.arrayValue ?? []
        #expect(rows.filter { $0["action"]?.stringValue == "oauth_token.issued" }.count == 2)
        #expect(rows.contains { $0["action"]?.stringValue == "route.created" })
        #expect(!String(decoding: audit.response.body, as: UTF8.self).contains(token))
    }

    @Test func scopeNarrowsTheKeysPermissions() async throws {
        let api = try await APIFixture()
        let token = try await Self.mint(api, api.liveKey, scope: "routes:read")
        #expect(await api.call("GET", "/v1/routes", key: token).status == 200)
        let write = await api.call(
            "POST", "/v1/routes", body: #"{"name":"No","target_base_url":"https://example.com"}"#, key: token)
        #expect(write.status == 403 && write.json["error"]?["type"]?.stringValue == "forbidden")
        #expect(await api.call("GET", "/v1/secrets", key: token).status == 403)
        // More than the key holds, or a name that is no permission: invalid_scope.
        let readOnly = try await api.live.makeKey("ro", role: .readOnly)
        let more = await Self.oauth(
            api, "/oauth/token", "grant_type=client_credentials&scope=routes:write", basic: readOnly)
        #expect(more.status == 400 && more.json["error"]?.stringValue == "invalid_scope")
        #expect(more.json["error_description"]?.stringValue?.contains("routes:write") == true)
        let unknown = await Self.oauth(
            api, "/oauth/token", "grant_type=client_credentials&scope=everything", basic: api.liveKey)
        #expect(unknown.status == 400 && unknown.json["error"]?.stringValue == "invalid_scope")
    }

    @Test func clientAuthenticationErrors() async throws {
        let api = try await APIFixture()
        let none = await Self.oauth(api, "/oauth/token", "grant_type=client_credentials")
        #expect(none.status == 401 && none.json["error"]?.stringValue == "invalid_client")
        #expect(none.response.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
        let (id, _) = Self.split(api.liveKey)
        let wrong = await Self.oauth(
            api, "/oauth/token", "grant_type=client_credentials", basic: "\(id)_\(String(repeating: "x", count: 43))")
        #expect(wrong.status == 401 && wrong.json["error"]?.stringValue == "invalid_client")
        let otherSide = await Self.oauth(api, "/oauth/token", "grant_type=client_credentials", basic: api.testKey)
        #expect(otherSide.status == 401 && otherSide.json["error"]?.stringValue == "invalid_client")
        #expect(otherSide.json["error_description"]?.stringValue?.contains("test key") == true)
        let (_, secret) = Self.split(api.liveKey)
        let both = await Self.oauth(
            api, "/oauth/token", "grant_type=client_credentials&client_secret=\(secret)", basic: api.liveKey)
        #expect(both.status == 400 && both.json["error"]?.stringValue == "invalid_request")
        let revokedKey = try await api.live.makeKey("gone")
        let list = await api.call("GET", "/v1/api-keys?per_page=100")
        let goneId = try #require(
            list.json["data"]?.arrayValue?.first { $0["name"]?.stringValue == "gone" }?["id"]?.stringValue)
        #expect(await api.call("DELETE", "/v1/api-keys/\(goneId)").status == 200)
        let revoked = await Self.oauth(api, "/oauth/token", "grant_type=client_credentials", basic: revokedKey)
        #expect(revoked.status == 401 && revoked.json["error"]?.stringValue == "invalid_client")
        // No error names the secret part of the key.
        for r in [none, wrong, otherSide, both, revoked] {
            #expect(!String(decoding: r.response.body, as: UTF8.self).contains(secret))
        }
    }

    @Test func requestErrors() async throws {
        let api = try await APIFixture()
        let missing = await Self.oauth(api, "/oauth/token", "scope=routes:read", basic: api.liveKey)
        #expect(missing.status == 400 && missing.json["error"]?.stringValue == "invalid_request")
        let password = await Self.oauth(
            api, "/oauth/token", "grant_type=password&username=a&password=b", basic: api.liveKey)
        #expect(password.status == 400 && password.json["error"]?.stringValue == "unsupported_grant_type")
        let json = await Self.oauth(
            api, "/oauth/token", #"{"grant_type":"client_credentials"}"#, basic: api.liveKey,
            contentType: "application/json")
        #expect(json.status == 400 && json.json["error"]?.stringValue == "invalid_request")
        let twice = await Self.oauth(
            api, "/oauth/token", "grant_type=client_credentials&grant_type=client_credentials", basic: api.liveKey)
        #expect(twice.status == 400 && twice.json["error"]?.stringValue == "invalid_request")
        let get = await Self.oauth(api, "/oauth/token", "", method: "GET")
        #expect(get.status == 405 && get.response.header("Allow") == "POST")
        let nowhere = await Self.oauth(api, "/oauth/device_authorization", "client_id=x")
        #expect(nowhere.status == 404 && nowhere.json["error"] != nil)
    }

    @Test func tokensStayOnTheirSide() async throws {
        let api = try await APIFixture()
        let live = try await Self.mint(api, api.liveKey)
        let test = try await Self.mint(api, api.testKey, mode: .test)
        #expect(test.hasPrefix("kc_test_"))
        let a = await api.call("GET", "/v1/routes", key: live, mode: .test)
        #expect(a.status == 403 && a.json["error"]?["type"]?.stringValue == "wrong_key_type")
        let b = await api.call("GET", "/v1/routes", key: test, mode: .live)
        #expect(b.status == 403 && b.json["error"]?["type"]?.stringValue == "wrong_key_type")
        #expect(await api.call("GET", "/v1/routes", key: test, mode: .test).status == 200)
    }

    @Test func expiryTamperingAndRevocation() async throws {
        let api = try await APIFixture()
        let token = try await Self.mint(api, api.liveKey)
        var tampered = Array(token)
        tampered[tampered.count - 1] = tampered.last == "A" ? "B" : "A"
        let t = await api.call("GET", "/v1/routes", key: String(tampered))
        #expect(t.status == 401 && t.json["error"]?["type"]?.stringValue == "invalid_api_key")
        // One hour, by the injected clock.
        api.fixture.clock.advance(seconds: 3599)
        #expect(await api.call("GET", "/v1/routes", key: token).status == 200)
        api.fixture.clock.advance(seconds: 2)
        let expired = await api.call("GET", "/v1/routes", key: token)
        #expect(expired.status == 401 && expired.json["error"]?["type"]?.stringValue == "invalid_api_key")
        let inspect = await Self.oauth(api, "/oauth/introspect", "token=\(token)", basic: api.liveKey)
        #expect(inspect.status == 200 && inspect.json == ["active": false])
        // Revocation (RFC 7009): unknown tokens are fine; a known one dies at once.
        let unknown = await Self.oauth(api, "/oauth/revoke", "token=kc_live_nothing", basic: api.liveKey)
        #expect(unknown.status == 200)
        let fresh = try await Self.mint(api, api.liveKey)
        #expect(await api.call("GET", "/v1/routes", key: fresh).status == 200)
        #expect(
            await Self.oauth(api, "/oauth/revoke", "token=\(fresh)&token_type_hint=access_token", basic: api.liveKey)
                .status == 200)
        #expect(await api.call("GET", "/v1/routes", key: fresh).status == 401)
        let audit = await api.call("GET", "/v1/audit-logs?action=oauth_token.revoked")
        #expect(audit.json["data"]?.arrayValue?.count == 1)
    }

    @Test func revokingTheKeyKillsItsTokensAtOnce() async throws {
        let api = try await APIFixture()
        let key = try await api.live.makeKey("client")
        let token = try await Self.mint(api, key)
        #expect(await api.call("GET", "/v1/routes", key: token).status == 200)
        let list = await api.call("GET", "/v1/api-keys?per_page=100")
        let id = try #require(
            list.json["data"]?.arrayValue?.first { $0["name"]?.stringValue == "client" }?["id"]?.stringValue)
        #expect(await api.call("DELETE", "/v1/api-keys/\(id)").status == 200)
        let after = await api.call("GET", "/v1/routes", key: token)
        #expect(after.status == 401 && after.json["error"]?["type"]?.stringValue == "invalid_api_key")
    }

    @Test func introspectionSaysWhatTheTokenIsOnlyToWhoMayKnow() async throws {
        let api = try await APIFixture()
        let token = try await Self.mint(api, api.liveKey, scope: "routes:read proxy:invoke")
        let own = await Self.oauth(api, "/oauth/introspect", "token=\(token)", basic: api.liveKey)
        #expect(own.status == 200)
        #expect(own.json["active"] == .bool(true))
        #expect(own.json["scope"]?.stringValue == "routes:read proxy:invoke")
        #expect(own.json["client_id"]?.stringValue == Self.split(api.liveKey).id)
        #expect(own.json["token_type"]?.stringValue == "Bearer")
        let exp = try #require(own.json["exp"]?.intValue)
        let iat = try #require(own.json["iat"]?.intValue)
        #expect(exp - iat == 3600)
        // Another client without api_keys:read learns nothing.
        let invoker = try await api.live.makeKey("invoker", role: .invoke)
        let other = await Self.oauth(api, "/oauth/introspect", "token=\(token)", basic: invoker)
        #expect(other.status == 200 && other.json == ["active": false])
        // And another client cannot revoke it.
        #expect(await Self.oauth(api, "/oauth/revoke", "token=\(token)", basic: invoker).status == 200)
        #expect(await api.call("GET", "/v1/routes", key: token).status == 200)
    }

    @Test func metadataListsExactlyWhatIsImplemented() async throws {
        let api = try await APIFixture()
        let r = await Self.oauth(api, "/.well-known/oauth-authorization-server", "", method: "GET")
        #expect(r.status == 200)
        #expect(r.json["issuer"]?.stringValue == "http://127.0.0.1:8700")
        #expect(r.json["token_endpoint"]?.stringValue == "http://127.0.0.1:8700/oauth/token")
        #expect(
            r.json["grant_types_supported"] == [
                .string("client_credentials"), .string("authorization_code"), .string("refresh_token"),
                .string("urn:ietf:params:oauth:grant-type:token-exchange"),
            ])
        #expect(r.json["code_challenge_methods_supported"] == [.string("S256")])
        #expect(r.json["revocation_endpoint"]?.stringValue == "http://127.0.0.1:8700/oauth/revoke")
        #expect(r.json["introspection_endpoint"]?.stringValue == "http://127.0.0.1:8700/oauth/introspect")
        #expect(r.json["authorization_endpoint"]?.stringValue == "http://127.0.0.1:8700/oauth/authorize")
        #expect(r.json["scopes_supported"]?.arrayValue?.contains(.string("proxy:invoke")) == true)
        // Every endpoint it names answers (not 404).
        for endpoint in ["/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/authorize"] {
            #expect(await Self.oauth(api, endpoint, "").status != 404)
        }
    }
}
