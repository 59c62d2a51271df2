import Foundation
import KnoxAPI
import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Testing

/// `/oauth/authorize` is open to anyone who knows a public client id: what one caller can make it store is bounded
/// (issue 20, point 4).
@Suite struct OAuthAuthorizeBoundsTests {
    static func get(_ api: APIFixture, _ target: String, from address: String = "127.0.0.1") async -> APIResponse {
        let (path, query) = APIRequest.split(target: target)
        return await api.liveAPI.handle(
            APIRequest(
                method: "GET", path: path, rawQuery: query, headers: [("Host", "127.0.0.1:8700")], body: [],
                remoteAddress: address))
    }

    static func url(_ clientId: String, state: String = "xyz") -> String {
        OAuthCodeFlowTests.authorizeURL(clientId).replacingOccurrences(of: "state=xyz", with: "state=\(state)")
    }

    /// Bytes of the data directory's files (databases with their WAL).
    static func diskBytes(_ api: APIFixture) -> Int {
        let dir = api.fixture.dir.path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.reduce(0) { total, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? 0
            return total + size
        }
    }

    @Test func aThousandRequestsFromOneAddressStoreLittle() async throws {
        let api = try await APIFixture()
        let key = try await OAuthCodeFlowTests.client(api)
        let clientId = OAuthTests.split(key).id
        let before = Self.diskBytes(api)
        let state = String(repeating: "s", count: 500)
        var statuses: [Int: Int] = [:]
        for _ in 0..<1000 {
            statuses[await Self.get(api, Self.url(clientId, state: state)).status, default: 0] += 1
        }
        // The per-address rate (20 a minute by default) lets the first ones through, the rest are 429 with a
        // Retry-After; of those let through, one client may keep 16 waiting, and the others go back to it at once.
        let (rate, perClient) = (
            KnoxConfig().authorizeRequestsPerMinute, KnoxConfig().maxPendingAuthorizationsPerClient
        )
        #expect(statuses[200] == perClient)
        #expect(statuses[302] == rate - perClient)
        #expect(statuses[429] == 1000 - rate)
        let grown = Self.diskBytes(api) - before
        #expect(grown < 512 * 1024, "grew by \(grown) bytes")
        // A pending request writes no audit row (only a decision does).
        let audit = await api.call("GET", "/v1/audit-logs?action_prefix=oauth_authorization.")
        #expect(audit.json["meta"]?["total"] == 0)
        let limited = await Self.get(api, Self.url(clientId))
        #expect(limited.status == 429 && limited.header("Retry-After") != nil)
        // Another address has its own allowance (and meets the client's cap, not the rate limit).
        #expect(await Self.get(api, Self.url(clientId), from: "127.0.0.2").status == 302)
    }

    @Test func oversizedParametersAreRefusedBeforeAnythingIsStored() async throws {
        let api = try await APIFixture()
        let key = try await OAuthCodeFlowTests.client(api)
        let clientId = OAuthTests.split(key).id
        let huge = await Self.get(api, Self.url(clientId, state: String(repeating: "s", count: 65_536)))
        #expect(huge.status == 400)
        #expect(String(decoding: huge.body, as: UTF8.self).contains("state must be at most 512 bytes"))
        let scope = OAuthCodeFlowTests.authorizeURL(clientId, scope: String(repeating: "routes:read ", count: 200))
        #expect(await Self.get(api, scope).status == 400)
        #expect(try await api.live.pendingAuthorizations().isEmpty)
        // Parameters it does not know are ignored (RFC 6749 §3.1), never stored.
        let extra = await Self.get(api, Self.url(clientId) + "&nonce=" + String(repeating: "n", count: 4000))
        #expect(extra.status == 200)
    }

    /// `redirect_uri` (2,048 bytes), `client_id` (128) and `code_challenge` (128) are capped too: a byte past the cap
    /// is a 400 `invalid_request` page naming it, decided before the client is looked up and before the per-address
    /// rate counts the request (more of them than the minute's allowance, none answered 429). At the cap itself the
    /// request goes on to the checks that follow.
    @Test func redirectClientIdAndChallengeAreCappedToo() async throws {
        let api = try await APIFixture()
        let key = try await OAuthCodeFlowTests.client(api)
        let clientId = OAuthTests.split(key).id
        let callback = OAuthCodeFlowTests.callback
        func redirect(bytes: Int) -> String {
            callback + "/" + String(repeating: "r", count: bytes - callback.utf8.count - 1)
        }
        func text(_ page: APIResponse) -> String { String(decoding: page.body, as: UTF8.self) }
        let oversized = [
            (
                "redirect_uri must be at most 2048 bytes",
                OAuthCodeFlowTests.authorizeURL(clientId, redirect: redirect(bytes: 2049))
            ),
            (
                "client_id must be at most 128 bytes",
                OAuthCodeFlowTests.authorizeURL(String(repeating: "c", count: 129))
            ),
            (
                "code_challenge must be at most 128 bytes",
                OAuthCodeFlowTests.authorizeURL(clientId, challenge: String(repeating: "a", count: 129))
            ),
        ]
        let allowance = KnoxConfig().authorizeRequestsPerMinute
        for round in 0..<(allowance / oversized.count + 2) {
            for (message, url) in oversized {
                let page = await Self.get(api, url)
                #expect(page.status == 400, "\(message), round \(round)")
                #expect(text(page).contains("invalid_request: \(message)."), "round \(round): \(text(page))")
            }
        }
        #expect(try await api.live.pendingAuthorizations().isEmpty)
        let atRedirectCap = await Self.get(
            api, OAuthCodeFlowTests.authorizeURL(clientId, redirect: redirect(bytes: 2048)))
        #expect(atRedirectCap.status == 400 && text(atRedirectCap).contains("redirect_uri is not registered"))
        let atClientCap = await Self.get(api, OAuthCodeFlowTests.authorizeURL(String(repeating: "c", count: 128)))
        #expect(atClientCap.status == 400 && text(atClientCap).contains("Unknown client"))
        let atChallengeCap = await Self.get(
            api, OAuthCodeFlowTests.authorizeURL(clientId, challenge: String(repeating: "a", count: 128)))
        #expect(atChallengeCap.status == 302)
        #expect(atChallengeCap.header("Location")?.contains("error=invalid_request") == true)
        // Only those three and this one counted against the address's allowance.
        #expect(await Self.get(api, Self.url(clientId)).status == 200)
        #expect(try await api.live.pendingAuthorizations().count == 1)
    }

    @Test func pendingRequestsAreCappedAndExpire() async throws {
        let api = try await APIFixture(
            config: try KnoxConfig.parse(
                "[oauth]\nauthorize_requests_per_minute = 100000\nmax_pending_per_client = 5\nmax_pending_authorizations = 8\n"
            ))
        let key = try await OAuthCodeFlowTests.client(api)
        let other = try await api.live.makeKey(
            "other", extra: ["redirect_uris": [.string(OAuthCodeFlowTests.callback)]])
        for _ in 0..<5 { #expect(await Self.get(api, Self.url(OAuthTests.split(key).id)).status == 200) }
        let full = await Self.get(api, Self.url(OAuthTests.split(key).id))
        #expect(full.status == 302)
        #expect(full.header("Location")?.contains("error=temporarily_unavailable") == true)
        for _ in 0..<3 { #expect(await Self.get(api, Self.url(OAuthTests.split(other).id)).status == 200) }
        #expect(await Self.get(api, Self.url(OAuthTests.split(other).id)).status == 302)  // 8 in all
        #expect(try await api.live.pendingAuthorizations().count == 8)
        // Ten minutes later nobody decided them: they are gone, and new ones fit again.
        api.fixture.clock.advance(seconds: 601)
        #expect(await Self.get(api, Self.url(OAuthTests.split(key).id)).status == 200)
        #expect(try await api.live.pendingAuthorizations().count == 1)
    }
}

/// The issuer of the metadata document comes from the configuration, never from the `Host` a client sends.
@Suite struct OAuthIssuerTests {
    @Test func issuerIgnoresTheHostHeader() async throws {
        let api = try await APIFixture()
        let forged = await api.liveAPI.handle(
            APIRequest(
                method: "GET", path: "/.well-known/oauth-authorization-server", rawQuery: nil,
                headers: [("Host", "evil.example")], body: [], remoteAddress: "127.0.0.1"))
        let metadata = (try? JSONValue.parse(forged.body)) ?? .null
        #expect(metadata["issuer"] == "http://127.0.0.1:8700")
        #expect(!String(decoding: forged.body, as: UTF8.self).contains("evil.example"))
        let configured = try await APIFixture(
            config: try KnoxConfig.parse("[management]\nlive_public_url = \"https://knox.example.com\"\n"))
        let answer = await configured.liveAPI.handle(
            APIRequest(
                method: "GET", path: "/.well-known/oauth-authorization-server", rawQuery: nil,
                headers: [("Host", "evil.example")], body: [], remoteAddress: "127.0.0.1"))
        let document = (try? JSONValue.parse(answer.body)) ?? .null
        #expect(document["issuer"] == "https://knox.example.com")
        #expect(document["token_endpoint"] == "https://knox.example.com/oauth/token")
        #expect(throws: ConfigError.self) {
            _ = try KnoxConfig.parse("[management]\nlive_public_url = \"ftp://x/y\"\n")
        }
    }
}
