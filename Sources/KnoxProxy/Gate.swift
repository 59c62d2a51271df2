import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import NIOHTTP1

/// What the data plane knows about a request when its head arrives.
struct RequestFacts {
    let method: String
    /// The request target as sent (`/users?x=1`); an absolute-form target is reduced to its path.
    let target: String
    let headers: KnownHeaders
    /// The address the connection comes from.
    let peer: IPAddress?
    /// The connection's memory of its last key (nil: check from scratch).
    var memo: InvokerMemo? = nil
}

/// Why a request was refused, with what the log row records.
struct Refusal: Error {
    let type: ErrorType
    let message: String
    var retryAfter: Int?
    /// Headers the refusal carries (rate-limit figures, DPoP challenges).
    var headers: [(String, String)] = []
    var trace = GateTrace()

    init(_ type: ErrorType, _ message: String, trace: GateTrace = GateTrace()) {
        self.type = type
        self.message = message
        self.trace = trace
    }
}

/// What the gate learned on the way, for the log row (filled in as the checks pass).
struct GateTrace {
    var clientIP: IPAddress?
    var routeId: String?
    var environment: String?
    var apiKeyId: String?
    var matchedClientId: String?
    var identificationMethod: String?
    var rateLimited = false
    var signatureValid: Bool?
    var upstreamHost: String?
}

/// A request that passed the checks that need only its head.
struct Admission {
    let plan: RoutePlan
    /// Present when the route requires a signature: checked once the body is in, before the rate limit.
    let signature: PendingSignature?
    /// The rate limit's figures for `X-RateLimit-*`, once the limiter was consulted.
    var rateLimit: RateLimitFigures?
    /// The DPoP server nonce, when the request carried a proof (sent back on every answer).
    var dpopNonce: String?
}

/// What `X-RateLimit-Limit`, `-Remaining` and `-Reset` say; written as digits straight into an answer.
struct RateLimitFigures {
    let limit: Int
    let remaining: Int
    /// Unix seconds when the bucket is full again.
    let reset: Int64

    /// The three headers as text (for KnoxCall's own refusals).
    var headers: [(String, String)] {
        [
            ("X-RateLimit-Limit", String(limit)), ("X-RateLimit-Remaining", String(remaining)),
            ("X-RateLimit-Reset", String(reset)),
        ]
    }
}

/// A signature to verify when the body is complete. The signing secret stays sealed until then: it is opened for the
/// HMAC and wiped right after.
struct PendingSignature {
    let timestamp: String
    let signature: String
    let secret: PreparedSecret
}

/// The data plane's checks, in SPEC's order: caller identified → route → clients rule → method → ip_allowlist →
/// signature → rate limit. Pure apart from the clock and the engine's key lookup, so it is tested without sockets.
struct Gate {
    let port: any DataPlanePort
    let snapshot: ConfigSnapshot
    let trustedProxies: [IPRange]
    /// KnoxCall hops (`Via`) a request may already have passed.
    let maxHops: Int
    let nowMillis: Int64
    let nowNanos: UInt64

    var nowSeconds: Int64 { nowMillis / 1000 }

    /// Runs every check that needs only the head. A route requiring a signature leaves the rate limit for `finish`.
    /// What the checks learn goes into `trace` as they pass (the exchange's own, written in place: not copied per
    /// request); a refusal carries a copy.
    func admit(_ facts: RequestFacts, trace: inout GateTrace) -> Result<Admission, Refusal> {
        trace.clientIP = clientAddress(facts)
        // 1. Who is calling: a key or token of this side (a client's address is considered with the route, below).
        let authorization = facts.headers.authorization
        var identified = false
        if facts.headers.hasKey {
            do throws(ApiError) {
                // Read in place: a string of the key is made only when the connection's memo does not hold it.
                guard
                    let caller = try facts.headers.withKeyBytes({ (key) throws(ApiError) -> InvokerIdentity in
                        try port.authenticateInvoker(
                            credentialBytes: key, snapshot: snapshot, nowMillis: nowMillis, memo: facts.memo)
                    })
                else { throw ApiError(.invalidApiKey, "Unauthorized") }
                trace.apiKeyId = caller.keyId
                trace.identificationMethod = "api_key"
                guard caller.canInvoke else {
                    return .failure(Refusal(.forbidden, "This API key lacks the proxy:invoke permission", trace: trace))
                }
                identified = true
            } catch {
                return .failure(Refusal(error.type, error.message, trace: trace))
            }
        } else if let auth = authorization, let (scheme, token) = Self.knoxcallToken(auth) {
            // An OAuth access token: from the snapshot, like keys; its scope must include proxy:invoke. A DPoP-bound
            // token needs a proof by its key for this very request.
            do {
                let caller = try port.authenticateToken(token, snapshot: snapshot, nowMillis: nowMillis)
                trace.apiKeyId = caller.key?.id
                trace.identificationMethod = "oauth_token"
                do {
                    try port.verifyTokenBinding(
                        token: caller.token, tokenText: token, scheme: scheme, proofHeader: facts.headers.dpop,
                        method: facts.method, url: "http://\(facts.headers.host ?? "127.0.0.1")\(facts.target)",
                        nowMillis: nowMillis)
                } catch {
                    var refusal = Refusal(error.type, "Unauthorized", trace: trace)
                    refusal.headers = [("WWW-Authenticate", DPoPChallenge.header(error.type))]
                    return .failure(refusal)
                }
                guard PermissionSet(caller.token.scope).allows(Permission("proxy", "invoke")) else {
                    return .failure(Refusal(.forbidden, "This token's scope lacks proxy:invoke", trace: trace))
                }
                identified = true
            } catch {
                let message =
                    error.type == .wrongKeyType ? "A token of the other mode cannot be used here" : "Unauthorized"
                return .failure(Refusal(error.type, message, trace: trace))
            }
        }
        // 2. The route and environment. Looked up for every caller, identified or not: a client's address identifies
        // a caller only on a route with requires_clients where that client is assigned in that environment.
        let routeKey = facts.headers.route.flatMap { $0.isEmpty ? nil : $0 }
        let environment = facts.headers.environment.flatMap { $0.isEmpty ? nil : $0 }
        let lookup = routeKey.map { snapshot.lookup(route: $0, environment: environment) }
        if !identified {
            // Opaque whatever the reason (no route, another route, no assignment): routes cannot be enumerated.
            guard case .found(let plan)? = lookup, plan.route.requiresClients, let ip = trace.clientIP,
                let client = plan.assignedClients.first(where: { $0.range.contains(ip) })
            else {
                return .failure(Refusal(.authenticationRequired, "Unauthorized", trace: trace))
            }
            trace.identificationMethod = "client_ip"
            trace.matchedClientId = client.id
        }
        // A request that already went through this many KnoxCall gateways is going round in circles.
        if facts.headers.knoxcallHops >= maxHops {
            return .failure(
                Refusal(
                    .loopDetected,
                    "This request has already passed \(facts.headers.knoxcallHops) KnoxCall gateways (Via): a route loops",
                    trace: trace))
        }
        guard let routeKey, let lookup else {
            return .failure(
                Refusal(.routeNotFound, "No route named: send x-knoxcall-route with a route slug or id", trace: trace))
        }
        let plan: RoutePlan
        switch lookup {
        case .found(let p): plan = p
        case .routeNotFound:
            return .failure(Refusal(.routeNotFound, "Route not found: \(routeKey.prefix(100))", trace: trace))
        case .routeDisabled:
            return .failure(Refusal(.routeNotFound, "Route is disabled: \(routeKey.prefix(100))", trace: trace))
        case .environmentNotConfigured:
            return .failure(
                Refusal(
                    .environmentNotConfigured,
                    "Environment \(environment?.prefix(63) ?? "") is not configured for this route", trace: trace))
        case .environmentDisabled:
            return .failure(
                Refusal(
                    .environmentDisabled, "Environment \(environment?.prefix(63) ?? "") is disabled for this route",
                    trace: trace))
        }
        trace.routeId = plan.route.id
        trace.environment = plan.environment
        trace.upstreamHost = plan.target.host
        // 3. Routes that require clients: the caller's address must belong to an assigned, enabled client.
        if plan.route.requiresClients && trace.matchedClientId == nil {
            guard let ip = trace.clientIP, let assigned = plan.assignedClients.first(where: { $0.range.contains(ip) })
            else {
                return .failure(
                    Refusal(.ipNotAllowed, "This address is not an authorized client of this route", trace: trace))
            }
            trace.matchedClientId = assigned.id
        }
        // The path stays under the route's base path: no dot segments, encoded slashes only where allowed.
        if let problem = RequestPath.problem(in: facts.target, allowEncodedSlashes: plan.allowEncodedSlashes) {
            return .failure(Refusal(.validationError, problem.message, trace: trace))
        }
        // 4. Method. TRACE only where allowed_methods lists it: it echoes the request, credentials included.
        if let allowed = plan.allowedMethods, !allowed.contains(facts.method) {
            return .failure(Refusal(.methodNotAllowed, "\(facts.method) is not allowed on this route", trace: trace))
        }
        if let refused = Self.reflectingOrTunnelling(facts.method),
            !(refused == "TRACE" && facts.method == "TRACE" && plan.allowsTrace)
        {
            let message =
                refused == "CONNECT"
                ? "CONNECT is not served: the data plane is not a tunnel"
                : "\(facts.method) is not allowed unless the route lists TRACE in allowed_methods"
            return .failure(Refusal(.methodNotAllowed, message, trace: trace))
        }
        // 5. Address allowlist.
        if !plan.ipAllowlist.isEmpty {
            guard let ip = trace.clientIP, plan.ipAllowlist.contains(where: { $0.contains(ip) }) else {
                return .failure(Refusal(.ipNotAllowed, "This address is not on the route's allowlist", trace: trace))
            }
        }
        // 6. Signature headers and clock window (the HMAC itself needs the body).
        var pending: PendingSignature?
        if plan.requireSignature {
            guard let timestamp = facts.headers.timestamp, let signature = facts.headers.signature else {
                trace.signatureValid = false
                return .failure(
                    Refusal(.signatureMissing, "X-Timestamp and X-Signature are required on this route", trace: trace))
            }
            guard let seconds = Int64(timestamp), abs(nowSeconds - seconds) <= Int64(plan.signatureToleranceSec) else {
                trace.signatureValid = false
                return .failure(
                    Refusal(
                        .signatureExpired, "X-Timestamp is outside the \(plan.signatureToleranceSec)s window",
                        trace: trace))
            }
            guard let secret = plan.signingSecret, secret.valueLength != nil else {
                return .failure(
                    Refusal(.dependencyUnavailable, "The route's signing secret cannot be read", trace: trace))
            }
            pending = PendingSignature(timestamp: timestamp, signature: signature, secret: secret)
        }
        var admission = Admission(plan: plan, signature: pending)
        if pending == nil {
            if let refusal = takeRateLimit(&admission, trace: &trace) { return .failure(refusal) }
        }
        return .success(admission)
    }

    /// The checks that need the body: the signature's HMAC, then the rate limit it was holding back.
    func finish(
        _ admission: inout Admission, trace: inout GateTrace, method: String, target: String, body: [UInt8]
    ) -> Refusal? {
        if let pending = admission.signature {
            let valid: Bool
            do throws(Refusal) {
                valid = try SecretOpener(port: port, nowMillis: nowMillis).withValue(pending.secret, for: .signature) {
                    RequestSignature.verify(
                        presented: pending.signature, secretBytes: $0, timestamp: pending.timestamp, method: method,
                        pathWithQuery: target, body: body)
                }
            } catch {
                return Refusal(.dependencyUnavailable, "The route's signing secret cannot be read", trace: trace)
            }
            trace.signatureValid = valid
            guard valid else {
                return Refusal(.signatureInvalid, "X-Signature does not match the request", trace: trace)
            }
            return takeRateLimit(&admission, trace: &trace)
        }
        return nil
    }

    private func takeRateLimit(_ admission: inout Admission, trace: inout GateTrace) -> Refusal? {
        guard let limiter = admission.plan.limiter else { return nil }
        let decision = limiter.take(now: nowNanos)
        let figures = RateLimitFigures(
            limit: limiter.burst, remaining: decision.remaining,
            reset: nowSeconds + Int64((decision.resetNanos + 999_999_999) / 1_000_000_000))
        admission.rateLimit = figures
        guard decision.allowed else {
            trace.rateLimited = true
            var refusal = Refusal(.rateLimitExceeded, "Rate limit exceeded for this route", trace: trace)
            refusal.retryAfter = max(1, Int((decision.retryAfterNanos + 999_999_999) / 1_000_000_000))
            refusal.headers = figures.headers
            return refusal
        }
        return nil
    }

    /// TRACE and TRACK (any case) echo the request, credentials included, back to the caller; CONNECT (any case) asks
    /// for a tunnel. Returns which one `method` is, else nil (the usual case: decided by the length first).
    static func reflectingOrTunnelling(_ method: String) -> String? {
        switch method.utf8.count {
        case 5: return HeaderRules.same(method, "trace") || HeaderRules.same(method, "track") ? "TRACE" : nil
        case 7: return HeaderRules.same(method, "connect") ? "CONNECT" : nil
        default: return nil
        }
    }

    /// The caller's address: the peer, or — when the peer is a trusted proxy — the nearest untrusted address in its
    /// `X-Forwarded-For`.
    func clientAddress(_ facts: RequestFacts) -> IPAddress? {
        guard let peer = facts.peer else { return nil }
        guard !trustedProxies.isEmpty, trustedProxies.contains(where: { $0.contains(peer) }) else { return peer }
        let chain = facts.headers.forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingASCIIWhitespace() }
        for hop in chain.reversed() {
            // Unmapped like the peer: a client range is compared in one family.
            guard let address = IPAddress(hop)?.unmapped else { return peer }
            if !trustedProxies.contains(where: { $0.contains(address) }) { return address }
        }
        return peer
    }

    /// A KnoxCall OAuth token in `Authorization` (`Bearer kc_…`, `DPoP kc_…`), else nil: other bearer tokens belong to
    /// the upstream and pass through.
    static func knoxcallToken(_ authorization: String) -> (scheme: String, token: String)? {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let scheme = parts[0].lowercased()
        let token = String(parts[1]).trimmingASCIIWhitespace()
        // Refresh tokens (`kcr_`) are KnoxCall's too: refused here, and never forwarded as the caller's own credential.
        guard scheme == "bearer" || scheme == "dpop", token.hasPrefix("kc_") || token.hasPrefix("kcr_") else {
            return nil
        }
        return (scheme, token)
    }
}
