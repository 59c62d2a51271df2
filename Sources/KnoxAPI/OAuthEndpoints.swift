import Foundation
import KnoxCore
import KnoxEngine
import Logging

/// The OAuth 2.1 authorization server of one mode, served by its management listener next to `/v1`: the token,
/// introspection and revocation endpoints and the RFC 8414 metadata. Bodies are form-encoded; answers are bare JSON
/// (no envelope) and errors are RFC 6749's `{"error", "error_description"}`.
struct OAuthEndpoints: Sendable {
    let engine: Engine
    let logger: Logger

    static let grantTypes = ["client_credentials", "authorization_code", "refresh_token", Engine.tokenExchangeGrant]

    /// The answer when `request` is for the authorization server, else nil (it is then a `/v1` request).
    func handle(_ request: APIRequest) async -> APIResponse? {
        let path = request.path
        guard path.hasPrefix("/oauth/") || path == "/.well-known/oauth-authorization-server" else { return nil }
        let requestId = Identifier.requestID()
        var response = await answer(request, path: path, requestId: requestId)
        if request.header("DPoP") != nil {
            response.headers.append(("DPoP-Nonce", engine.dpop.currentNonce(nowMillis: engine.clock.nowMillis())))
        }
        return response
    }

    private func answer(_ request: APIRequest, path: String, requestId: String) async -> APIResponse {
        do {
            switch path {
            case "/.well-known/oauth-authorization-server":
                try allow(request, "GET")
                return json(200, metadata(), requestId)
            case "/oauth/authorize":
                return try await authorize(request)
            case "/oauth/token":
                try allow(request, "POST")
                return json(200, try await token(request, requestId: requestId), requestId)
            case "/oauth/introspect":
                try allow(request, "POST")
                let form = try self.form(request)
                let caller = try client(request, form)
                guard let text = form["token"], !text.isEmpty else {
                    throw OAuthError(400, "invalid_request", "token is required")
                }
                return json(200, try await engine.introspect(text, caller: caller).body, requestId)
            case "/oauth/revoke":
                try allow(request, "POST")
                let form = try self.form(request)
                let caller = try client(request, form)
                guard let text = form["token"], !text.isEmpty else {
                    throw OAuthError(400, "invalid_request", "token is required")
                }
                try await engine.revokeToken(text, caller: caller, context: context(request, caller, requestId))
                return json(200, JSONObject(), requestId)
            default:
                throw OAuthError(404, "invalid_request", "No such OAuth endpoint: \(path.prefix(100))")
            }
        } catch let error as OAuthError {
            var response = json(
                error.status, ["error": .string(error.error), "error_description": .string(error.description)],
                requestId)
            if error.status == 401 { response.headers.append(("WWW-Authenticate", "Basic realm=\"knoxcall\"")) }
            if let allow = error.allow { response.headers.append(("Allow", allow)) }
            return response
        } catch let error as ApiError where error.type == .dependencyUnavailable {
            return json(
                503, ["error": .string("temporarily_unavailable"), "error_description": .string(error.message)],
                requestId)
        } catch {
            logger.error(
                "oauth request failed", metadata: ["request.id": "\(requestId)", "error.type": "\(type(of: error))"])
            return json(
                500,
                [
                    "error": .string("server_error"),
                    "error_description": .string("An unexpected error occurred; quote the request id"),
                ], requestId)
        }
    }

    // MARK: - Token endpoint

    private func token(_ request: APIRequest, requestId: String) async throws -> JSONObject {
        let form = try self.form(request)
        guard let grant = form["grant_type"], !grant.isEmpty else {
            throw OAuthError(400, "invalid_request", "grant_type is required")
        }
        guard Self.grantTypes.contains(grant) else {
            throw OAuthError(
                400, "unsupported_grant_type",
                "grant_type \(grant.prefix(80)) is not supported here; supported: \(Self.grantTypes.joined(separator: ", "))"
            )
        }
        // DPoP (RFC 9449): a proof binds the token to its key; a client set to require DPoP gets nothing without one.
        var jkt: String?
        if let proof = request.header("DPoP") {
            do {
                jkt = try engine.checkDPoP(
                    proof, method: "POST", url: ManagementAPI.requestURL(request), accessToken: nil,
                    nowMillis: engine.clock.nowMillis()
                ).jkt
            } catch {
                throw error.oauthError
            }
        }
        // Workload identity: the assertion is the credential, there is no client.
        if grant == Engine.tokenExchangeGrant {
            return try await engine.exchangeToken(form, jkt: jkt, ipAddress: request.remoteAddress)
        }
        // Public clients (client_id alone) may redeem codes and refresh: PKCE and rotation protect those grants.
        let key = try client(request, form, allowPublic: grant != "client_credentials")
        if jkt == nil && key.requireDpop {
            throw OAuthError(
                400, "invalid_dpop_proof", "This client requires DPoP: send a DPoP proof with the token request")
        }
        let ctx = context(request, key, requestId)
        switch grant {
        case "authorization_code":
            guard let code = form["code"], !code.isEmpty else {
                throw OAuthError(400, "invalid_request", "code is required")
            }
            return try await engine.redeemAuthorizationCode(
                code: code, redirectUri: form["redirect_uri"], verifier: form["code_verifier"], client: key, jkt: jkt,
                context: ctx)
        case "refresh_token":
            guard let token = form["refresh_token"], !token.isEmpty else {
                throw OAuthError(400, "invalid_request", "refresh_token is required")
            }
            return try await engine.refresh(token, client: key, scope: form["scope"], jkt: jkt, context: ctx)
        default:
            let scope = try engine.grantedScope(form["scope"], key: key)
            return try await engine.issueAccessToken(key: key, scope: scope, grantType: grant, jkt: jkt, context: ctx)
        }
    }

    // MARK: - Authorization endpoint and consent page

    /// `GET /oauth/authorize?response_type=code&…` records the request and shows the consent page; the page polls
    /// `GET /oauth/authorize?request=ID` until the operator decides (in the console, or on the page with an API key
    /// that holds `api_keys:write`, `POST /oauth/authorize`), then sends the browser back to the client.
    private func authorize(_ request: APIRequest) async throws -> APIResponse {
        do {
            let step: AuthorizationStep
            switch request.method {
            case "GET", "HEAD":
                let q: [String: String]
                do { q = try URLDecoding.query(request.rawQuery) } catch {
                    throw AuthorizationPageError(message: "The request is malformed: \(error.message)")
                }
                if let id = q["request"], q.count == 1 {
                    step = try await engine.collectAuthorization(id)
                } else {
                    step = try await engine.beginAuthorization(q, ipAddress: request.remoteAddress)
                }
            case "POST":
                let form = try self.form(request)
                guard let id = form["request"], let decision = form["decision"], ["approve", "deny"].contains(decision)
                else {
                    throw AuthorizationPageError(message: "The decision form is incomplete.")
                }
                let approver: AuthenticatedCaller
                do { approver = try engine.authenticate(credential: form["api_key"]) } catch {
                    throw AuthorizationPageError(message: "That API key is not valid here: \(error.message)")
                }
                do {
                    _ = try await engine.decideAuthorization(
                        id, approve: decision == "approve",
                        RequestContext(actor: approver.actor, ipAddress: request.remoteAddress))
                } catch let error as ApiError {
                    throw AuthorizationPageError(message: error.message)
                }
                step = try await engine.collectAuthorization(id)
            default:
                throw OAuthError(
                    405, "invalid_request", "\(request.method) is not allowed here; use GET or POST", allow: "GET, POST"
                )
            }
            switch step {
            case .redirect(let location):
                return APIResponse(
                    status: 302,
                    headers: [("Location", location), ("Cache-Control", "no-store"), ("Content-Length", "0")])
            case .waiting(let record, let name):
                return page(ConsentPage.waiting(record, clientName: name, mode: engine.mode))
            }
        } catch let error as AuthorizationPageError {
            var response = page(ConsentPage.problem(error.message, mode: engine.mode), status: error.status)
            if let retry = error.retryAfter { response.headers.append(("Retry-After", String(retry))) }
            return response
        }
    }

    private func page(_ html: String, status: Int = 200) -> APIResponse {
        APIResponse(
            status: status,
            headers: [
                ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                ("X-Frame-Options", "DENY"),
                ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
                ("Referrer-Policy", "no-referrer"),
            ],
            body: Array(html.utf8))
    }

    // MARK: - Parts

    private func allow(_ request: APIRequest, _ method: String) throws(OAuthError) {
        guard request.method == method || (method == "GET" && request.method == "HEAD") else {
            throw OAuthError(
                405, "invalid_request", "\(request.method) is not allowed here; use \(method)", allow: method)
        }
    }

    /// The form body (`application/x-www-form-urlencoded`); a parameter given twice is `invalid_request` (RFC 6749 §3.2).
    private func form(_ request: APIRequest) throws(OAuthError) -> [String: String] {
        let type = request.header("Content-Type")?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw OAuthError(400, "invalid_request", "The body must be application/x-www-form-urlencoded")
        }
        do {
            return try URLDecoding.query(String(decoding: request.body, as: UTF8.self))
        } catch {
            throw OAuthError(400, "invalid_request", "The form body is malformed: \(error.message)")
        }
    }

    /// Client authentication by HTTP Basic or by `client_id`/`client_secret` fields, never both (RFC 6749 §2.3). With
    /// `allowPublic`, a `client_id` alone identifies a public client.
    private func client(_ request: APIRequest, _ form: [String: String], allowPublic: Bool = false) throws(OAuthError)
        -> ApiKey
    {
        var id = form["client_id"]
        var secret = form["client_secret"]
        if allowPublic, secret == nil, request.header("Authorization") == nil {
            guard let key = engine.publicClient(id) else {
                throw OAuthError(
                    401, "invalid_client", "Client authentication failed: the client is unknown, revoked or expired")
            }
            return key
        }
        if let authorization = request.header("Authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "basic" else {
                throw OAuthError(401, "invalid_client", "Authorization must be Basic client_id:client_secret here")
            }
            guard secret == nil else {
                throw OAuthError(
                    400, "invalid_request",
                    "Use one client authentication method, not HTTP Basic and client_secret both")
            }
            guard let decoded = Data(base64Encoded: String(parts[1]).trimmingASCIIWhitespace()),
                let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
            else { throw OAuthError(401, "invalid_client", "The Basic credentials are malformed") }
            // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
            guard let basicId = URLDecoding.percentDecode(pair[..<colon], plusIsSpace: true),
                let basicSecret = URLDecoding.percentDecode(pair[pair.index(after: colon)...], plusIsSpace: true)
            else { throw OAuthError(401, "invalid_client", "The Basic credentials are malformed") }
            if let id, id != basicId {
                throw OAuthError(400, "invalid_request", "client_id does not match the Basic credentials")
            }
            id = basicId
            secret = basicSecret
        }
        return try engine.authenticateClient(id: id, secret: secret)
    }

    private func context(_ request: APIRequest, _ key: ApiKey, _ requestId: String) -> RequestContext {
        RequestContext(
            actor: .apiKey(id: key.id, prefix: key.keyPrefix, permissions: key.permissions),
            ipAddress: request.remoteAddress, requestId: requestId)
    }

    /// RFC 8414, listing exactly what is implemented. The issuer comes from the configuration (`Engine.issuer`).
    private func metadata() -> JSONObject {
        let issuer = engine.issuer
        var m = JSONObject()
        m["issuer"] = .string(issuer)
        m["authorization_endpoint"] = .string("\(issuer)/oauth/authorize")
        m["token_endpoint"] = .string("\(issuer)/oauth/token")
        m["introspection_endpoint"] = .string("\(issuer)/oauth/introspect")
        m["revocation_endpoint"] = .string("\(issuer)/oauth/revoke")
        m["grant_types_supported"] = .array(Self.grantTypes.map(JSONValue.string))
        m["response_types_supported"] = .array([.string("code")])
        m["response_modes_supported"] = .array([.string("query")])
        m["code_challenge_methods_supported"] = .array([.string("S256")])
        let auth: JSONValue = .array([.string("client_secret_basic"), .string("client_secret_post")])
        m["token_endpoint_auth_methods_supported"] = .array([
            .string("client_secret_basic"), .string("client_secret_post"), .string("none"),
        ])
        m["introspection_endpoint_auth_methods_supported"] = auth
        m["revocation_endpoint_auth_methods_supported"] = auth
        m["scopes_supported"] = .array(Role.knownPermissions.map(JSONValue.string))
        m["dpop_signing_alg_values_supported"] = .array([.string("ES256")])
        m["service_documentation"] = .string("\(issuer)/v1/openapi.json")
        return m
    }

    private func json(_ status: Int, _ body: JSONObject, _ requestId: String) -> APIResponse {
        APIResponse(
            status: status,
            headers: [
                ("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"),
                ("Pragma", "no-cache"),
                ("X-Request-Id", requestId),
            ],
            body: JSONValue.object(body).serializedBytes())
    }
}
