import Foundation
import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// JSON Web Key Sets fetched from issuers' URLs, kept for five minutes.
final class JWKSCache: Sendable {
    private let entries = Mutex<[String: (document: JSONValue, fetched: Int64)]>([:])
    static let lifetimeMillis: Int64 = 300_000

    func cached(_ url: String, now: Int64) -> JSONValue? {
        entries.withLock { e in e[url].flatMap { now - $0.fetched < Self.lifetimeMillis ? $0.document : nil } }
    }

    func store(_ url: String, _ document: JSONValue, now: Int64) { entries.withLock { $0[url] = (document, now) } }
}

extension Engine {
    public static let tokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let subjectTokenTypes = [
        "urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:jwt",
    ]
    /// The audience a KnoxCall management token is for (the SDK sends it).
    public static let apiAudience = "knoxcall:api"
    /// How far `exp` and `nbf` may be off, for clock skew between the issuer and this machine.
    static let assertionLeewayMillis: Int64 = 30_000

    /// RFC 8693 token exchange for workload identity: an ID token from a trusted OIDC issuer (configuration
    /// `[[oauth.workload_issuers]]`) — signature, `iss`, `aud`, `exp`, `nbf` verified, single use — becomes a KnoxCall
    /// access token with the key role its subject maps to (narrowed by `scope`).
    public func exchangeToken(_ form: [String: String], jkt: String?, ipAddress: String?) async throws -> JSONObject {
        guard let type = form["subject_token_type"], Self.subjectTokenTypes.contains(type) else {
            throw OAuthError(
                400, "invalid_request", "subject_token_type must be urn:ietf:params:oauth:token-type:id_token (or :jwt)"
            )
        }
        guard let assertion = form["subject_token"], !assertion.isEmpty else {
            throw OAuthError(400, "invalid_request", "subject_token is required")
        }
        if let audience = form["audience"], audience != Self.apiAudience {
            throw OAuthError(400, "invalid_target", "audience must be \(Self.apiAudience) here")
        }
        if form["actor_token"] != nil {
            throw OAuthError(400, "invalid_request", "actor_token (delegation) is not supported")
        }
        if let requested = form["requested_token_type"], requested != "urn:ietf:params:oauth:token-type:access_token" {
            throw OAuthError(400, "invalid_request", "requested_token_type can only be an access token")
        }
        let invalid = { (why: String) in OAuthError(400, "invalid_grant", "The subject_token is not acceptable: \(why)")
        }
        let unverified: JSONValue
        do { unverified = try JWTVerifier.unverifiedClaims(assertion) } catch { throw invalid(error.description) }
        guard let iss = unverified["iss"]?.stringValue,
            let trusted = config.workloadIssuers.first(where: { $0.issuer == iss && $0.modes.contains(self.mode) })
        else { throw invalid("its issuer is not trusted here") }
        let jwks = try await loadJWKS(trusted)
        let claims: JSONValue
        do { claims = try JWTVerifier.verify(assertion, jwks: jwks) } catch { throw invalid(error.description) }
        let now = clock.nowMillis()
        guard claims["iss"]?.stringValue == trusted.issuer else { throw invalid("iss does not match") }
        let audiences =
            claims["aud"]?.stringValue.map { [$0] } ?? claims["aud"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard audiences.contains(trusted.audience) else { throw invalid("aud does not include \(trusted.audience)") }
        guard let exp = claims["exp"]?.intValue.map({ Int64($0) * 1000 }) else { throw invalid("it has no exp") }
        guard exp + Self.assertionLeewayMillis > now else { throw invalid("it has expired") }
        if let nbf = claims["nbf"]?.intValue.map({ Int64($0) * 1000 }), nbf - Self.assertionLeewayMillis > now {
            throw invalid("it is not valid yet (nbf)")
        }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else { throw invalid("it has no sub") }
        guard let role = trusted.role(for: subject) else { throw invalid("its subject is not mapped to a key role") }
        // The role's permissions, narrowed by scope.
        let held = PermissionSet(role.grants)
        var scope = role.grants.map(\.description)
        let asked = (form["scope"] ?? "").split(separator: " ").map(String.init)
        if !asked.isEmpty {
            for name in asked {
                guard let p = Permission(name), Engine.isKnownScope(p), held.allows(p) else {
                    throw OAuthError(400, "invalid_scope", "The workload's role does not hold \(name.prefix(64))")
                }
            }
            scope = asked
        }
        let mode = mode
        let slug = config.tenantSlug
        let granted = scope
        let hash = KeyHasher.sha256Hex(Array(assertion.utf8))
        let context = RequestContext(actor: .workload(subject: subject, permissions: held), ipAddress: ipAddress)
        var body = try await mintResult(context) { m in
            guard try m.access.useAssertion(hash: hash, expiresAt: exp + Self.assertionLeewayMillis, now: m.now) else {
                throw OAuthError(
                    400, "invalid_grant", "The subject_token was already exchanged (assertions are single use)")
            }
            let pair = try Engine.mint(
                &m, mode: mode, key: nil, scope: granted, jkt: jkt, grantType: "token_exchange", family: nil,
                refresh: false,
                subject: subject, issuer: trusted.issuer)
            return Engine.tokenResponse(pair, scope: granted, jkt: jkt, tenant: slug)
        }
        body["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
        return body
    }

    /// The issuer's key set: from its file (relative to the data dir) at each use, or from its URL (cached 5 min).
    func loadJWKS(_ issuer: WorkloadIssuer) async throws -> JSONValue {
        if let file = issuer.jwksFile {
            let path =
                file.hasPrefix("/")
                ? file : ((databasePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path),
                let document = try? JSONValue.parse(Array(data))
            else {
                logger.error(
                    "workload issuer JWKS unreadable", metadata: ["issuer": "\(issuer.issuer)", "path": "\(path)"])
                throw OAuthError(500, "server_error", "The issuer's key set could not be read; see the server log")
            }
            return document
        }
        guard let url = issuer.jwksURL, let parsed = URL(string: url) else {
            throw OAuthError(500, "server_error", "The issuer has no key set configured")
        }
        let now = clock.nowMillis()
        if let cached = jwksCache.cached(url, now: now) { return cached }
        var request = URLRequest(url: parsed)
        request.timeoutInterval = 5
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            guard (response as? HTTPURLResponse)?.statusCode == 200, let document = try? JSONValue.parse(Array(data))
            else {
                throw OAuthError(500, "server_error", "The issuer's key set could not be fetched")
            }
            jwksCache.store(url, document, now: now)
            return document
        } catch let error as OAuthError {
            throw error
        } catch {
            logger.error(
                "workload issuer JWKS fetch failed", metadata: ["issuer": "\(issuer.issuer)", "url": "\(url)"])
            throw OAuthError(503, "temporarily_unavailable", "The issuer's key set could not be fetched; retry shortly")
        }
    }
}
