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

    static let grantTypes = ["client_credentials"]

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
                return json(200, metadata(request), requestId)
            case "/oauth/token":
                try allow(request, "POST")
                return json(200, try await token(request, requestId: requestId), requestId)
            case "/oauth/introspect":
                try allow(request, "POST")
                let form = try self.form(request)
                let caller = try client(request, form)
                guard let text = form["token"], !text.isEmpty else { throw OAuthError(400, "invalid_request", "token is required") }
                return json(200, try await engine.introspect(text, caller: caller).body, requestId)
            case "/oauth/revoke":
                try allow(request, "POST")
                let form = try self.form(request)
                let caller = try client(request, form)
                guard let text = form["token"], !text.isEmpty else { throw OAuthError(400, "invalid_request", "token is required") }
                try await engine.revokeToken(text, caller: caller, context: context(request, caller, requestId))
                return json(200, JSONObject(), requestId)
            default:
                throw OAuthError(404, "invalid_request", "No such OAuth endpoint: \(path.prefix(100))")
            }
        } catch let error as OAuthError {
            var response = json(error.status, ["error": .string(error.error), "error_description": .string(error.description)], requestId)
            if error.status == 401 { response.headers.append(("WWW-Authenticate", "Basic realm=\"knoxcall\"")) }
            if error.status == 405 { response.headers.append(("Allow", error.description.components(separatedBy: " ").last ?? "POST")) }
            return response
        } catch let error as ApiError where error.type == .dependencyUnavailable {
            return json(503, ["error": .string("temporarily_unavailable"), "error_description": .string(error.message)], requestId)
        } catch {
            logger.error("oauth request failed", metadata: ["request.id": "\(requestId)", "error.type": "\(type(of: error))"])
            return json(500, ["error": .string("server_error"), "error_description": .string("An unexpected error occurred; quote the request id")], requestId)
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
                "grant_type \(grant.prefix(80)) is not supported here; supported: \(Self.grantTypes.joined(separator: ", "))")
        }
        let key = try client(request, form)
        let scope = try engine.grantedScope(form["scope"], key: key)
        // DPoP (RFC 9449): a proof binds the token to its key; a client set to require DPoP gets nothing without one.
        var jkt: String?
        if let proof = request.header("DPoP") {
            do {
                jkt = try engine.checkDPoP(
                    proof, method: "POST", url: ManagementAPI.requestURL(request), accessToken: nil,
                    nowMillis: engine.clock.nowMillis()
                ).jkt
            } catch {
                switch error {
                case .invalid(let why): throw OAuthError(400, "invalid_dpop_proof", "Invalid DPoP proof: \(why)")
                case .useNonce: throw OAuthError(400, "use_dpop_nonce", "Retry with the server nonce from the DPoP-Nonce header")
                }
            }
        } else if key.requireDpop {
            throw OAuthError(400, "invalid_dpop_proof", "This client requires DPoP: send a DPoP proof with the token request")
        }
        return try await engine.issueAccessToken(
            key: key, scope: scope, grantType: grant, jkt: jkt, context: context(request, key, requestId))
    }

    // MARK: - Parts

    private func allow(_ request: APIRequest, _ method: String) throws(OAuthError) {
        guard request.method == method || (method == "GET" && request.method == "HEAD") else {
            throw OAuthError(405, "invalid_request", "\(request.method) is not allowed here; use \(method)")
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

    /// Client authentication by HTTP Basic or by `client_id`/`client_secret` fields, never both (RFC 6749 §2.3).
    private func client(_ request: APIRequest, _ form: [String: String]) throws(OAuthError) -> ApiKey {
        var id = form["client_id"]
        var secret = form["client_secret"]
        if let authorization = request.header("Authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "basic" else {
                throw OAuthError(401, "invalid_client", "Authorization must be Basic client_id:client_secret here")
            }
            guard secret == nil else {
                throw OAuthError(400, "invalid_request", "Use one client authentication method, not HTTP Basic and client_secret both")
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

    /// RFC 8414, listing exactly what is implemented.
    private func metadata(_ request: APIRequest) -> JSONObject {
        let host = request.header("Host").flatMap { h in
            h.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") } && !h.isEmpty ? h : nil
        } ?? "127.0.0.1"
        let issuer = "http://\(host)"
        var m = JSONObject()
        m["issuer"] = .string(issuer)
        m["token_endpoint"] = .string("\(issuer)/oauth/token")
        m["introspection_endpoint"] = .string("\(issuer)/oauth/introspect")
        m["revocation_endpoint"] = .string("\(issuer)/oauth/revoke")
        m["grant_types_supported"] = .array(Self.grantTypes.map(JSONValue.string))
        m["response_types_supported"] = .array([])
        let auth: JSONValue = .array([.string("client_secret_basic"), .string("client_secret_post")])
        m["token_endpoint_auth_methods_supported"] = auth
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
                ("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"), ("Pragma", "no-cache"),
                ("X-Request-Id", requestId),
            ],
            body: JSONValue.object(body).serializedBytes())
    }
}
