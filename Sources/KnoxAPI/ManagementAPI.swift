import KnoxCore
import KnoxEngine
import Logging

/// The management API of one mode: routing, authentication, rate limiting, body parsing and the envelope.
///
/// Pure request → response; the socket side lives in `HTTPListener`, so tests can drive this directly.
public struct ManagementAPI: Sendable {
    public static let apiVersion = "2026-08-05"
    /// Request bodies above this are refused with 413.
    public static let maxBodyBytes = 1 << 20

    public let engine: Engine
    public let operations: [Operation]
    let logger: Logger

    public init(engine: Engine, logger: Logger = Logger(label: "knoxcall.api")) {
        self.engine = engine
        self.operations = Operations.all.sorted { $0.specificity > $1.specificity }
        self.logger = logger
    }

    /// Answers one request. Never throws: every failure becomes an error envelope.
    public func handle(_ request: APIRequest) async -> APIResponse {
        if let answer = await OAuthEndpoints(engine: engine, logger: logger).handle(request) { return answer }
        let requestId = Identifier.requestID()
        var extraHeaders: [(String, String)] = []
        // Every answer to a request that carried a DPoP proof brings the current server nonce (RFC 9449 §8.2).
        if request.header("DPoP") != nil {
            extraHeaders.append(("DPoP-Nonce", engine.dpop.currentNonce(nowMillis: engine.clock.nowMillis())))
        }
        do {
            let (operation, parameters) = try route(request)
            var actor: Actor = .console
            if operation.requiresAuth {
                let (scheme, presented) = try credential(request)
                let caller = try engine.authenticate(credential: presented)
                if let token = caller.token {
                    do {
                        try engine.checkTokenBinding(
                            token: token, tokenText: presented ?? "", scheme: scheme,
                            proofHeader: request.header("DPoP"),
                            method: request.method, url: Self.requestURL(request), nowMillis: engine.clock.nowMillis())
                    } catch {
                        throw error.apiError
                    }
                } else if scheme == "dpop" {
                    throw ApiError(.invalidDpopProof, "API keys are not DPoP-bound; send them with the Bearer scheme")
                }
                let decision = engine.takeRateLimit(caller)
                extraHeaders += [
                    ("X-RateLimit-Limit", String(decision.limit)),
                    ("X-RateLimit-Remaining", String(decision.remaining)),
                    ("X-RateLimit-Reset", String(decision.resetAt)),
                ]
                guard decision.allowed else {
                    throw ApiError(
                        .rateLimitExceeded, "Too many requests for this API key; retry after \(decision.retryAfter)s",
                        retryAfter: decision.retryAfter)
                }
                actor = caller.actor
            }
            if let version = request.header("KnoxCall-Version"), version != Self.apiVersion {
                throw ApiError(
                    .validationError,
                    "KnoxCall-Version: unsupported API version \"\(version.prefix(32))\"; this server speaks \(Self.apiVersion)",
                    field: "KnoxCall-Version")
            }
            let query = try URLDecoding.query(request.rawQuery)
            let body = try parseBody(request, operation)
            let idempotencyKey = try idempotency(request)
            let context = RequestContext(
                actor: actor, ipAddress: request.remoteAddress, requestId: requestId, idempotencyKey: idempotencyKey,
                fingerprint: idempotencyKey == nil
                    ? nil : RequestContext.fingerprint(method: request.method, path: request.path, body: request.body))
            let input = OperationInput(
                engine: engine, request: request, parameters: parameters, query: query, body: body, context: context)
            let result = try await operation.handler(input)
            return Envelope.success(result, requestId: requestId, headers: extraHeaders)
        } catch let error as ApiError {
            if case .methodNotAllowed = error.type, let allow = error.field { extraHeaders.append(("Allow", allow)) }
            if error.type == .invalidDpopProof || error.type == .useDpopNonce {
                extraHeaders.append(("WWW-Authenticate", DPoPRefusal.challenge(error.type)))
            }
            return Envelope.failure(error, requestId: requestId, headers: extraHeaders)
        } catch is CancellationError {
            return Envelope.failure(
                ApiError(.dependencyUnavailable, "The server is shutting down; retry shortly", retryAfter: 1),
                requestId: requestId, headers: extraHeaders)
        } catch {
            // Only the type is logged: an unexpected error's text could quote data from the request.
            logger.error(
                "request failed", metadata: ["request.id": "\(requestId)", "error.type": "\(type(of: error))"])
            return Envelope.failure(
                ApiError(.internalError, "An unexpected error occurred; quote the request_id when reporting it"),
                requestId: requestId, headers: extraHeaders)
        }
    }

    /// The operation for a method and path: 404 when no path matches, 405 (with `Allow`) when only the method is wrong.
    func route(_ request: APIRequest) throws(ApiError) -> (Operation, [String: String]) {
        var segments: [String] = []
        for raw in request.path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = URLDecoding.percentDecode(raw, plusIsSpace: false) else {
                throw ApiError(.notFound, "No such endpoint: the path is not correctly percent-encoded")
            }
            segments.append(decoded)
        }
        var allowed: [String] = []
        for operation in operations {
            guard let params = operation.match(segments) else { continue }
            if operation.method == request.method || (request.method == "HEAD" && operation.method == "GET") {
                return (operation, params)
            }
            if !allowed.contains(operation.method) { allowed.append(operation.method) }
        }
        guard allowed.isEmpty else {
            throw ApiError(
                .methodNotAllowed, "\(request.method) is not allowed here; use \(allowed.joined(separator: ", "))",
                field: allowed.joined(separator: ", "))
        }
        throw ApiError(.notFound, "No such endpoint: \(request.method) \(request.path.prefix(200))")
    }

    /// The scheme (`bearer` or `dpop`) and the key or token from `Authorization`, or the key from `x-api-key`.
    func credential(_ request: APIRequest) throws(ApiError) -> (scheme: String, value: String?) {
        if let auth = request.header("Authorization") {
            let parts = auth.split(separator: " ", maxSplits: 1)
            let scheme = parts.first?.lowercased() ?? ""
            guard parts.count == 2, scheme == "bearer" || scheme == "dpop" else {
                throw ApiError(
                    .authenticationRequired,
                    "Authorization must be \"Bearer <API key or token>\" or \"DPoP <token>\"; the scheme given is not supported"
                )
            }
            return (scheme, String(parts[1]).trimmingASCIIWhitespace())
        }
        return ("bearer", request.header("x-api-key")?.trimmingASCIIWhitespace())
    }

    /// The URL a DPoP proof's `htu` must name: this listener as the client reached it, and the path.
    static func requestURL(_ request: APIRequest) -> String {
        "http://\(request.header("Host") ?? "127.0.0.1")\(request.path)"
    }

    func parseBody(_ request: APIRequest, _ operation: Operation) throws(ApiError) -> JSONValue? {
        guard operation.body != .none else { return nil }
        let blank = request.body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if blank {
            if operation.body == .required {
                throw ApiError(.validationError, "body: a JSON object is required", field: "body")
            }
            return nil
        }
        if let type = request.header("Content-Type")?.lowercased(),
            !(type.hasPrefix("application/json") || type.contains("+json"))
        {
            // curl's -d sends application/x-www-form-urlencoded by default; a body that is plainly JSON is read as
            // JSON then, as users of the reference's curl examples expect.
            let firstByte = request.body.first { !(($0 == 0x20) || ($0 == 0x0A) || ($0 == 0x0D) || ($0 == 0x09)) }
            guard type.hasPrefix("application/x-www-form-urlencoded"), firstByte == UInt8(ascii: "{") else {
                throw ApiError(.unsupportedMediaType, "Content-Type must be application/json (got \(type.prefix(64)))")
            }
        }
        do {
            return try JSONValue.parse(request.body)
        } catch {
            throw ApiError(.validationError, "body: invalid JSON: \(error)", field: "body")
        }
    }

    func idempotency(_ request: APIRequest) throws(ApiError) -> String? {
        guard request.method != "GET", request.method != "HEAD", let key = request.header("X-Idempotency-Key") else {
            return nil
        }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ApiError(
                .validationError, "X-Idempotency-Key must be 1-255 printable ASCII characters",
                field: "X-Idempotency-Key")
        }
        return key
    }
}
