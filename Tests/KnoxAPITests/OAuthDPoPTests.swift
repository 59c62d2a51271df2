import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

/// DPoP (RFC 9449) on the token endpoint and the management API: every rule, one at a time.
@Suite struct OAuthDPoPTests {
    static let tokenURL = "http://127.0.0.1:8700/oauth/token"
    static let routesURL = "http://127.0.0.1:8700/v1/routes"

    static func now(_ api: APIFixture) -> Int64 { api.fixture.clock.nowMillis() / 1000 }

    static func mint(_ api: APIFixture, _ key: String, proof: String?) async -> (
        status: Int, json: JSONValue, response: APIResponse
    ) {
        let (id, secret) = OAuthTests.split(key)
        var headers: [(String, String)] = [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Host", "127.0.0.1:8700"),
            ("Authorization", "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()),
        ]
        if let proof { headers.append(("DPoP", proof)) }
        let request = APIRequest(
            method: "POST", path: "/oauth/token", rawQuery: nil, headers: headers,
            body: Array("grant_type=client_credentials".utf8),
            remoteAddress: "127.0.0.1")
        let response = await api.liveAPI.handle(request)
        return (response.status, (try? JSONValue.parse(response.body)) ?? .null, response)
    }

    /// `GET /v1/routes` with `Authorization: scheme token` and an optional proof.
    static func routes(_ api: APIFixture, _ scheme: String, _ token: String, proof: String?) async
        -> (status: Int, json: JSONValue, response: APIResponse)
    {
        var headers: [(String, String)] = [("Host", "127.0.0.1:8700"), ("Authorization", "\(scheme) \(token)")]
        if let proof { headers.append(("DPoP", proof)) }
        return await api.call("GET", "/v1/routes", key: "", headers: headers)
    }

    static func errorType(_ r: (status: Int, json: JSONValue, response: APIResponse)) -> String? {
        r.json["error"]?["type"]?.stringValue
    }

    @Test func aBoundTokenNeedsAFreshProofByItsKey() async throws {
        let api = try await APIFixture()
        let signer = DPoPSigner()
        let minted = await Self.mint(
            api, api.liveKey, proof: signer.proof(method: "POST", url: Self.tokenURL, iat: Self.now(api)))
        #expect(minted.status == 200)
        #expect(minted.json["token_type"]?.stringValue == "DPoP")
        #expect(minted.response.header("DPoP-Nonce") != nil)
        let token = try #require(minted.json["access_token"]?.stringValue)
        // Introspection shows the binding.
        let (id, secret) = OAuthTests.split(api.liveKey)
        _ = (id, secret)
        let inspect = await OAuthTests.oauth(api, "/oauth/introspect", "token=\(token)", basic: api.liveKey)
        #expect(inspect.json["cnf"]?["jkt"]?.stringValue == signer.thumbprint)
        #expect(inspect.json["token_type"]?.stringValue == "DPoP")

        let t = Self.now(api)
        let good = signer.proof(method: "GET", url: Self.routesURL, iat: t, accessToken: token)
        let ok = await Self.routes(api, "DPoP", token, proof: good)
        #expect(ok.status == 200)
        #expect(ok.response.header("DPoP-Nonce") != nil)

        let cases: [(String, String, String?, String)] = [
            (
                "as a bearer token", "Bearer",
                signer.proof(method: "GET", url: Self.routesURL, iat: t, accessToken: token), "DPoP-bound"
            ),
            ("without a proof", "DPoP", nil, "required"),
            ("with a replayed proof", "DPoP", good, "replay"),
            (
                "with another URL", "DPoP",
                signer.proof(method: "GET", url: "http://127.0.0.1:8700/v1/secrets", iat: t, accessToken: token), "htu"
            ),
            (
                "with another method", "DPoP",
                signer.proof(method: "POST", url: Self.routesURL, iat: t, accessToken: token), "htm"
            ),
            (
                "with a stale iat", "DPoP",
                signer.proof(method: "GET", url: Self.routesURL, iat: t - 120, accessToken: token), "iat"
            ),
            (
                "with an iat from the future", "DPoP",
                signer.proof(method: "GET", url: Self.routesURL, iat: t + 120, accessToken: token), "iat"
            ),
            (
                "by another key", "DPoP",
                DPoPSigner().proof(method: "GET", url: Self.routesURL, iat: t, accessToken: token), "another key"
            ),
            (
                "without ath", "DPoP",
                signer.proof(method: "GET", url: Self.routesURL, iat: t, accessToken: token, omitAth: true), "ath"
            ),
            (
                "for another token", "DPoP",
                signer.proof(method: "GET", url: Self.routesURL, iat: t, accessToken: token + "x"), "ath"
            ),
            (
                "with the wrong typ", "DPoP",
                signer.proof(method: "GET", url: Self.routesURL, iat: t, accessToken: token, typ: "JWT"), "typ"
            ),
            (
                "with a private key in the jwk", "DPoP",
                signer.proof(method: "GET", url: Self.routesURL, iat: t, accessToken: token, includePrivate: true),
                "private"
            ),
            ("with a forged signature", "DPoP", String(good.dropLast(4)) + "AAAA", "signature"),
        ]
        for (label, scheme, proof, why) in cases {
            let r = await Self.routes(api, scheme, token, proof: proof)
            #expect(r.status == 401, "\(label)")
            #expect(Self.errorType(r) == "invalid_dpop_proof", "\(label)")
            #expect(r.json["error"]?["message"]?.stringValue?.contains(why) == true, "\(label): \(r.json)")
            #expect(
                r.response.header("WWW-Authenticate")?.hasPrefix("DPoP error=\"invalid_dpop_proof\"") == true,
                "\(label)")
            #expect(!String(decoding: r.response.body, as: UTF8.self).contains(token), "\(label)")
        }
    }

    @Test func serverNoncesAreVerifiedWhenPresent() async throws {
        let api = try await APIFixture()
        let signer = DPoPSigner()
        let minted = await Self.mint(
            api, api.liveKey, proof: signer.proof(method: "POST", url: Self.tokenURL, iat: Self.now(api)))
        let token = try #require(minted.json["access_token"]?.stringValue)
        let nonce = try #require(minted.response.header("DPoP-Nonce"))
        let stale = await Self.routes(
            api, "DPoP", token,
            proof: signer.proof(
                method: "GET", url: Self.routesURL, iat: Self.now(api), accessToken: token, nonce: "not-ours"))
        #expect(stale.status == 401 && Self.errorType(stale) == "use_dpop_nonce")
        #expect(stale.response.header("WWW-Authenticate")?.contains("use_dpop_nonce") == true)
        let fresh = try #require(stale.response.header("DPoP-Nonce"))
        #expect(fresh == nonce)
        // The retry with the server's nonce is not a replay, even with the same jti (the nonce is checked first).
        let retry = await Self.routes(
            api, "DPoP", token,
            proof: signer.proof(
                method: "GET", url: Self.routesURL, iat: Self.now(api), accessToken: token, nonce: fresh))
        #expect(retry.status == 200)
        // A nonce is good for this minute and the next; after that it must be renewed.
        api.fixture.clock.advance(seconds: 150)
        let old = await Self.routes(
            api, "DPoP", token,
            proof: signer.proof(
                method: "GET", url: Self.routesURL, iat: Self.now(api), accessToken: token, nonce: nonce))
        #expect(Self.errorType(old) == "use_dpop_nonce")
        // At the token endpoint the same refusal is an OAuth error with status 400 (RFC 9449 §8.1).
        let atToken = await Self.mint(
            api, api.liveKey,
            proof: signer.proof(method: "POST", url: Self.tokenURL, iat: Self.now(api), nonce: "not-ours"))
        #expect(atToken.status == 400 && atToken.json["error"]?.stringValue == "use_dpop_nonce")
        #expect(atToken.response.header("DPoP-Nonce") != nil)
    }

    @Test func tokenEndpointProofsAndClientsThatRequireDPoP() async throws {
        let api = try await APIFixture()
        let signer = DPoPSigner()
        let wrongURL = await Self.mint(
            api, api.liveKey,
            proof: signer.proof(method: "POST", url: "http://127.0.0.1:8700/oauth/revoke", iat: Self.now(api)))
        #expect(wrongURL.status == 400 && wrongURL.json["error"]?.stringValue == "invalid_dpop_proof")
        let garbage = await Self.mint(api, api.liveKey, proof: "not.a.jwt")
        #expect(garbage.status == 400 && garbage.json["error"]?.stringValue == "invalid_dpop_proof")
        // A key set to require DPoP gets no token without a proof; with one, a bound token.
        let strict = try await api.live.makeKey("strict", extra: ["require_dpop": true])
        let bare = await Self.mint(api, strict, proof: nil)
        #expect(bare.status == 400 && bare.json["error"]?.stringValue == "invalid_dpop_proof")
        let bound = await Self.mint(
            api, strict, proof: signer.proof(method: "POST", url: Self.tokenURL, iat: Self.now(api)))
        #expect(bound.status == 200 && bound.json["token_type"]?.stringValue == "DPoP")
        let listed = await api.call("GET", "/v1/api-keys?per_page=100")
        #expect(
            listed.json["data"]?.arrayValue?.first { $0["name"]?.stringValue == "strict" }?["require_dpop"]
                == .bool(true))
        // An unbound token or a key sent with the DPoP scheme is refused, so a binding can never be silently lost.
        let plain = try await OAuthTests.mint(api, api.liveKey)
        let unbound = await Self.routes(
            api, "DPoP", plain,
            proof: signer.proof(method: "GET", url: Self.routesURL, iat: Self.now(api), accessToken: plain))
        #expect(unbound.status == 401 && Self.errorType(unbound) == "invalid_dpop_proof")
        let keyAsDPoP = await Self.routes(api, "DPoP", api.liveKey, proof: nil)
        #expect(keyAsDPoP.status == 401 && Self.errorType(keyAsDPoP) == "invalid_dpop_proof")
    }
}
