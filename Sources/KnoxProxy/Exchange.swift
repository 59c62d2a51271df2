import KnoxCore
import KnoxDataPlane
import NIOCore
import NIOHTTP1

/// One request through the data plane, from its head to the log row. Confined to the downstream connection's event
/// loop, which is also the loop of its upstream connection: nothing here is shared between threads. What may follow
/// what is decided by `state` (`ExchangeState`, no I/O); this class turns I/O into its events and carries out the
/// actions it answers.
final class Exchange: Slotted, @unchecked Sendable {
    /// Why the upstream side failed, as the caller and the log row are told.
    private struct Failure {
        let type: ErrorType
        /// The refusal's message; nil: a refusal already decided stands.
        let message: String?
    }

    /// The connection's handler. Strong: `context` holds it strongly anyway, and a strong reference costs nothing per
    /// access (an unowned one is an atomic retain and release on every use).
    let handler: ProxyHandler
    let context: ChannelHandlerContext
    let head: RequestHead
    let requestId: String
    let startNanos: UInt64
    let startMillis: Int64
    let services: ProxyServices
    let snapshot: ConfigSnapshot
    let keepAlive: Bool
    /// The target as the caller sent it, reduced to origin form.
    let target: String
    let known: KnownHeaders

    private(set) var state = ExchangeState()
    var trace = GateTrace()
    var admission: Admission?
    /// The refusal to send; set exactly when `state.refusing`.
    var refusal: Refusal?
    var buffered: [UInt8] = []
    /// Upstream-bound bytes (body parts, already framed) that arrived before the upstream connection was ready.
    var pendingParts: [ByteBuffer] = []
    /// The request body goes upstream in chunked coding (streamed, no length known).
    var chunkedUpstream = false
    var upstream: UpstreamConnection?
    var upstreamStartNanos: UInt64 = 0
    var upstreamStatus: Int?
    /// Monotonic nanoseconds by which the upstream must have answered (0: not waiting).
    var deadlineNanos: UInt64 = 0
    /// Where this exchange sits in its pool's list of exchanges waiting for an answer (-1: not listed).
    var watchSlot = -1
    /// The whole request body when it was held, so a stale pooled connection can be retried.
    var replayableBody: [UInt8]?
    /// The request head as it goes upstream (kept to send again on a retry).
    var upstreamHead: ByteBuffer?

    /// Something was written to the caller (an answer head or a refusal).
    var responseStarted: Bool { state.responseStarted }

    init(
        handler: ProxyHandler, context: ChannelHandlerContext, head: RequestHead, known: KnownHeaders,
        services: ProxyServices
    ) {
        self.handler = handler
        self.context = context
        self.head = head
        self.services = services
        startNanos = services.monotonic.nowNanos()
        startMillis = services.port.clock.nowMillis()
        requestId = Identifier.requestID(millis: startMillis, using: &handler.random)
        snapshot = services.port.snapshot
        keepAlive = head.keepAlive
        target = Exchange.originForm(head.target)
        self.known = known
    }

    deinit {
        // Released on the connection's loop, after the answer: the next request on the connection reuses the list.
        handler.recycle(head.fields.spans)
    }

    /// `http://host/path?q` → `/path?q`; origin-form targets unchanged.
    static func originForm(_ uri: String) -> String {
        guard !uri.hasPrefix("/"), let scheme = uri.range(of: "://") else { return uri }
        let rest = uri[scheme.upperBound...]
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let path = String(rest[slash...])
        return path.hasPrefix("?") ? "/" + path : path
    }

    /// A request target as the log keeps it: its path, without the query (queries can carry tokens), at most 2 KiB.
    static func loggedPath(_ target: String) -> Substring {
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        // At most 2,048 characters; a path of no more bytes has no more characters, and is not counted.
        return path.utf8.count <= 2048 ? path : path.prefix(2048)
    }

    // MARK: - Events from the caller

    /// Runs the head checks and decides how the body travels.
    func begin(peer: IPAddress?) {
        guard target.hasPrefix("/") else {
            refuse(Refusal(.validationError, "The request target must be a path (got \(target.prefix(40)))"))
            return
        }
        let gate = services.gate(snapshot, nowMillis: startMillis)
        // A request with a DPoP proof gets the current server nonce back, whatever the answer (RFC 9449 §8.2).
        let dpopNonce = known.dpop == nil ? nil : gate.port.dpopNonce(nowMillis: startMillis)
        let facts = RequestFacts(
            method: head.method.rawValue, target: target, headers: known, peer: peer, memo: handler.memo)
        switch gate.admit(facts, trace: &trace) {
        case .failure(var r):
            if let dpopNonce { r.headers.append(("DPoP-Nonce", dpopNonce)) }
            refuse(r)
        case .success(var a):
            a.dpopNonce = dpopNonce
            admission = a
            let declared = known.declaredLength
            let mustHold = mustHoldBody(a)
            let wantHold =
                mustHold
                || (Self.isBodyMethod(head.method) && known.hasBody
                    && BodyKind(contentType: known.contentType).isScanned)
            let tooLarge = declared.map { $0 > ProxyServices.maxHeldBody } ?? false
            if tooLarge && mustHold {
                refuse(
                    Refusal(.payloadTooLarge, "This route needs the whole body and takes at most 1 MiB", trace: trace))
                return
            }
            let action = state.handle(.admitted(hold: wantHold && !tooLarge))
            if let expect = known.expect, HeaderRules.same(expect, "100-continue") {
                handler.writeContinue(context)
            }
            carry(action)
        }
    }

    func requestBody(_ buffer: ByteBuffer) {
        let overflow = state.body == .buffer && buffered.count + buffer.readableBytes > ProxyServices.maxHeldBody
        let mustHold = overflow && admission.map(mustHoldBody) ?? false
        switch state.handle(.bodyPart(overflow: overflow, mustHold: mustHold)) {
        case .hold:
            buffered.append(contentsOf: buffer.readableBytesView)
        case .forward:
            sendUpstream(buffer)
        case .refuseTooLarge:
            refusal = Refusal(.payloadTooLarge, "This route needs the whole body and takes at most 1 MiB", trace: trace)
            buffered = []
        case .streamFromNow:
            // Too large to look into: forward what was held and stream the rest untouched.
            let held = buffered
            buffered = []
            startUpstream(body: nil, streaming: true)
            guard state.body == .stream else { return }
            if !held.isEmpty { sendUpstream(ByteBuffer(bytes: held)) }
            sendUpstream(buffer)
        case let other:
            carry(other)
        }
    }

    func requestEnd() {
        switch state.handle(.end) {
        case .completeHeld:
            completeHeld()
        case .endUpstreamBody(let startClock):
            sendUpstreamEnd()
            if startClock { startAnswerClock() }
        case let other:
            carry(other)
        }
    }

    /// The rest of the request is not acceptable HTTP (bad chunking): refused with this exchange's own id and log row,
    /// and the connection ends. Nothing more goes upstream.
    func rejectMalformed(_ message: String) {
        guard !state.finished, !state.responseStarted else { return }
        refusal = Refusal(.validationError, "Malformed HTTP request: \(message)", trace: trace)
        carry(state.handle(.malformedRequest))
    }

    /// The caller stopped sending the request body (the connection's body-stall timeout): answered 408 when nothing
    /// was answered yet (or the refusal already decided, which was waiting for the body's end), and the connection
    /// ends either way.
    func requestStalled() {
        guard !state.finished else { return }
        if refusal == nil && !state.responseStarted {
            refusal = Refusal(.requestTimeout, "The request body stopped arriving before it was complete", trace: trace)
        }
        carry(state.handle(.stalled), failure: Failure(type: .requestTimeout, message: nil))
    }

    /// The process's shutdown grace period ended before this exchange did: its row says so (not the caller's doing).
    func cutByShutdown() {
        if state.handle(.closed) == .log { log(status: upstreamStatus ?? 503, error: "server_shutdown") }
    }

    /// The downstream connection went away mid-exchange.
    func downstreamClosed() {
        if state.handle(.closed) == .log { log(status: upstreamStatus ?? 499, error: "client_closed_request") }
    }

    private static func isBodyMethod(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH: true
        default: false
        }
    }

    /// The route cannot do without the whole body: a signature over it, or placeholders in it.
    private func mustHoldBody(_ a: Admission) -> Bool {
        a.signature != nil || (Self.isBodyMethod(head.method) && a.plan.injectBody != nil)
    }

    /// A refusal decided on this side of the exchange; it goes out now if the body has ended, else at its end.
    private func refuse(_ r: Refusal) {
        var r = r
        if r.trace.routeId == nil && r.trace.clientIP == nil { r.trace = trace }
        trace = r.trace
        refusal = r
        carry(state.handle(.refused))
    }

    /// The held body is whole: the checks that need it, its placeholders, then the upstream.
    private func completeHeld() {
        guard var a = admission else { return }
        let gate = services.gate(snapshot, nowMillis: startMillis)
        if let r = gate.finish(&a, trace: &trace, method: head.method.rawValue, target: target, body: buffered) {
            refusal = r
            carry(state.handle(.refused))
            return
        }
        admission = a
        let injector = services.injector(snapshot, a.plan, nowMillis: startMillis)
        do {
            let body = try injector.body(buffered, contentType: known.contentType) ?? buffered
            buffered = []
            startUpstream(body: body, streaming: false)
        } catch {
            refusal = error
            carry(state.handle(.refused))
        }
    }

    // MARK: - Carrying out the state's actions

    /// Does what the state answered to an event whose own actions (holding, forwarding, the answer's parts) were taken
    /// where it arrived. `failure` says what went wrong when the action ends the exchange for it: the refusal to send
    /// (its `message` nil: the one already decided stands) or the error of an answer cut short.
    private func carry(_ action: ExchangeState.Action, failure: Failure? = nil) {
        switch action {
        case .startUpstream:
            startUpstream(body: nil, streaming: known.hasBody)
        case .refuse(let keepAlive):
            stopWaiting()
            dropUpstream()
            if let failure, let message = failure.message { refusal = Refusal(failure.type, message, trace: trace) }
            guard let refusal else { return }
            // The row first: a caller that has the answer can already find it.
            finish(status: refusal.type.status, error: refusal.type.rawValue)
            handler.writeError(
                context, refusal, requestId: requestId, keepAlive: keepAlive && self.keepAlive, version: head.version)
        case .refuseAtEnd:
            stopWaiting()
            dropUpstream()
            if let failure, let message = failure.message { refusal = Refusal(failure.type, message, trace: trace) }
            // The rest of the body is read and dropped; the answer goes out at its end.
            handler.setReading(context, true)
        case .abort:
            // Mid-answer: all the caller can be told is that the connection ended.
            stopWaiting()
            dropUpstream()
            let type = failure?.type ?? .upstreamUnreachable
            finish(status: upstreamStatus ?? type.status, error: type.rawValue)
            handler.abort(context)
        case .nothing, .hold, .forward, .refuseTooLarge, .streamFromNow, .completeHeld, .endUpstreamBody, .sendRequest,
            .releaseConnection, .forwardHead, .forwardPart, .endAnswer, .retry, .log:
            // Nothing to do, or an action the state gives only to the event that takes it where it arrives.
            break
        }
    }

    /// The exchange ended with nothing more to send: the upstream goes, the row is written.
    private func log(status: Int, error: String) {
        stopWaiting()
        dropUpstream()
        finish(status: status, error: error)
    }

    // MARK: - Upstream

    /// Builds the upstream request and sends it over a pooled or new connection. `body` is the whole body when it was
    /// held; otherwise body parts follow through `sendUpstream`.
    private func startUpstream(body: [UInt8]?, streaming: Bool) {
        guard let plan = admission?.plan else { return }
        var injected: [(name: String, lowercased: String, value: String)] = []
        var inPlace: HeaderRules.InPlaceInjection?
        do throws(Refusal) {
            if plan.injectsInPlace {
                // The usual case: the values are written into the head as their secrets are opened (no strings).
                if !plan.injectHeaders.isEmpty {
                    inPlace = .init(
                        headers: plan.injectHeaders, opener: SecretOpener(port: services.port, nowMillis: startMillis))
                }
            } else {
                let injector = services.injector(snapshot, plan, nowMillis: startMillis)
                for header in plan.injectHeaders {
                    injected.append((header.name, header.lowercasedName, try injector.header(header)))
                }
            }
            let declared = known.declaredLength
            let length: Int? =
                body.map { b in b.isEmpty && declared == nil ? nil : b.count } ?? (streaming ? declared : nil)
            chunkedUpstream = streaming && length == nil
            let additions = HeaderRules.UpstreamAdditions(
                hostHeader: plan.hostHeader, clientText: handler.peerText,
                peerIsTrustedProxy: services.isTrustedProxy(trace.clientIP, peer: handler.peer), requestId: requestId,
                injected: injected, consumedSignature: plan.requireSignature, bodyLength: length,
                chunked: chunkedUpstream,
                hasConnectionTokens: known.hasConnectionTokens, inPlace: inPlace)
            upstreamHead = try HeaderRules.upstreamHead(
                method: head.method.rawValue, target: plan.target.basePath + target, caller: head.fields, additions,
                allocator: context.channel.allocator)
        } catch {
            refusal = error
            carry(state.handle(.refused))
            return
        }
        replayableBody = body
        if let body, !body.isEmpty { pendingParts = [ByteBuffer(bytes: body)] }
        connect()
    }

    private func connect() {
        guard let plan = admission?.plan else { return }
        // Body parts that arrive before the connection are queued; stop reading so that queue stays small.
        let streamingBody = replayableBody == nil && known.hasBody && !state.requestEnded
        if streamingBody { handler.setReading(context, false) }
        let pool = handler.pool
        if let idle = pool.takeIdle(plan.poolKey) {
            connected(idle)
            return
        }
        pool.open(plan.target, key: plan.poolKey, connectTimeout: services.connectTimeout).whenComplete { result in
            switch result {
            case .success(let connection): self.connected(connection)
            case .failure(ProxyFailure.ownListener):
                // Which listener is the operator's business (it is in the process log), not the caller's.
                self.fail(.loopDetected, "The route's target leads back into this gateway")
            case .failure: self.fail(.upstreamUnreachable, "The upstream could not be reached")
            }
        }
    }

    private func connected(_ connection: UpstreamConnection) {
        guard case .sendRequest(let startClock) = state.handle(.upstreamReady) else {
            handler.pool.release(connection)
            return
        }
        upstream = connection
        connection.exchange = self
        connection.decoder.expect(toHEAD: head.method == .HEAD)
        upstreamStartNanos = services.monotonic.nowNanos()
        if let upstreamHead { connection.write(upstreamHead) }
        let parts = pendingParts
        pendingParts = []
        for part in parts { connection.write(part) }
        connection.flushSoon(handler.pool.flushes)
        if startClock {
            startAnswerClock()
        } else if !state.requestEnded {
            handler.setReading(context, connection.channel.isWritable)
        }
    }

    /// The upstream has the whole request: its answer is due within the route's timeout, counted from now (a slow
    /// upload is the caller's time, watched by the connection's body-stall timeout, not the upstream's).
    private func startAnswerClock() {
        guard let plan = admission?.plan else { return }
        deadlineNanos = NIODeadline.now().uptimeNanoseconds + UInt64(plan.timeoutSec) * 1_000_000_000
        handler.pool.watch(self)
    }

    /// One part of a streamed request body, framed for the upstream.
    private func sendUpstream(_ part: ByteBuffer) {
        guard part.readableBytes > 0 else { return }
        if chunkedUpstream {
            var framed = context.channel.allocator.buffer(capacity: part.readableBytes + 24)
            ResponseWriter.chunk(part, into: &framed)
            sendUpstreamBytes(framed)
        } else {
            sendUpstreamBytes(part)
        }
    }

    /// The end of a streamed request body (the last chunk, in chunked coding).
    private func sendUpstreamEnd() {
        if chunkedUpstream { sendUpstreamBytes(ByteBuffer(staticString: "0\r\n\r\n")) }
    }

    /// Queues bytes for the upstream, flushed at the end of the loop's turn (FlushBatch).
    private func sendUpstreamBytes(_ bytes: ByteBuffer) {
        if let connection = upstream {
            connection.write(bytes)
            connection.flushSoon(handler.pool.flushes)
            if !connection.channel.isWritable { handler.setReading(context, false) }
        } else {
            pendingParts.append(bytes)
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        handler.setReading(context, writable)
    }

    /// The upstream's final answer head (interim 1xx answers never get here).
    func upstreamHead(_ responseHead: ResponseHead) {
        guard state.handle(.upstreamHead) == .forwardHead else { return }
        stopWaiting()
        upstreamStatus = responseHead.status
        handler.writeResponseHead(
            context, responseHead, request: head, requestId: requestId, rateLimit: admission?.rateLimit,
            dpopNonce: admission?.dpopNonce, keepAlive: keepAlive)
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        guard state.handle(.upstreamPart) == .forwardPart else { return }
        handler.writeResponseBody(context, buffer, upstream: upstream)
    }

    /// The answer is complete; `reusable` says whether the upstream connection can serve another request.
    func upstreamEnd(reusable: Bool) {
        guard case .endAnswer(let reuse) = state.handle(.upstreamEnd) else { return }
        let connection = upstream
        upstream = nil
        handler.writeResponseEnd(context, keepAlive: keepAlive) {
            finish(status: upstreamStatus ?? 502, error: nil)
        }
        if let connection {
            if reusable && reuse && connection.channel.isActive {
                handler.pool.release(connection)
            } else {
                connection.exchange = nil
                connection.channel.close(promise: nil)
            }
        }
    }

    func upstreamReadComplete() {
        if state.responseStarted { handler.flush(context) }
    }

    func upstreamClosed(_ connection: UpstreamConnection) {
        guard upstream === connection else { return }
        upstream = nil
        let retriable = connection.reused && (replayableBody != nil || !known.hasBody)
        let action = state.handle(.upstreamClosed(retriable: retriable))
        guard action != .retry else {
            // A pooled keep-alive connection the upstream had closed: try once more on a fresh one.
            pendingParts = replayableBody.flatMap { $0.isEmpty ? nil : [ByteBuffer(bytes: $0)] } ?? []
            stopWaiting()
            connect()
            return
        }
        carry(
            action,
            failure: Failure(type: .upstreamUnreachable, message: "The upstream closed the connection before answering")
        )
    }

    /// Called by the loop's sweep once `deadlineNanos` has passed.
    func deadlinePassed() {
        let timeout = admission?.plan.timeoutSec ?? 30
        carry(
            state.handle(.timeout),
            failure: Failure(
                type: .upstreamTimeout,
                message: "The upstream did not answer within \(timeout)s of receiving the whole request"))
    }

    /// The upstream's answer is not acceptable HTTP: reported as such (its connection is closed and never reused).
    func upstreamMalformed(_ message: String) {
        fail(.upstreamInvalidResponse, "The upstream's answer is not valid HTTP: \(message)")
    }

    /// The upstream stopped taking the streamed request body (reading from the caller was held back for it for the
    /// body-stall timeout): a 504 once the caller's body is in, as for an upstream that does not answer.
    func upstreamStoppedReading() {
        fail(.upstreamTimeout, "The upstream stopped reading the request body")
    }

    private func fail(_ type: ErrorType, _ message: String) {
        carry(state.handle(.failed), failure: Failure(type: type, message: message))
    }

    /// Closes the upstream connection, if any, without it telling this exchange (it is never reused).
    private func dropUpstream() {
        guard let connection = upstream else { return }
        connection.exchange = nil
        connection.channel.close(promise: nil)
        upstream = nil
    }

    /// No longer waiting for the upstream's answer: off the pool's deadline list.
    private func stopWaiting() {
        deadlineNanos = 0
        if watchSlot >= 0 { handler.pool.unwatch(self) }
    }

    // MARK: - Log

    /// Writes the exchange's one log row (the state lets exactly one action reach here).
    private func finish(status: Int, error: String?) {
        stopWaiting()
        let now = services.monotonic.nowNanos()
        let origin = known.origin == "sdk-intercept" ? "sdk_intercept" : "direct"
        let path = Self.loggedPath(target)
        let fields = head.fields
        let headersBound = HeaderRules.loggableBound(fields)
        // The row is written as a record, straight from the exchange's fields: no string is built for it.
        let row = LogRecord.make(
            capacity: 320 + requestId.utf8.count + path.utf8.count + min(headersBound, HeaderRules.loggableLimit),
            requestId: requestId, routeId: trace.routeId, ts: startMillis,
            srcIp: trace.clientIP == handler.peer ? handler.peerText : trace.clientIP?.description,
            method: head.method.rawValue, path: path, statusCode: status,
            latencyMs: Int((now - startNanos) / 1_000_000),
            upstreamLatencyMs: upstreamStartNanos > 0 && upstreamStatus != nil
                ? Int((now - upstreamStartNanos) / 1_000_000) : nil,
            upstreamHost: trace.upstreamHost, upstreamStatus: upstreamStatus, error: error,
            environment: trace.environment, rateLimited: trace.rateLimited, signatureValid: trace.signatureValid,
            matchedClientId: trace.matchedClientId, identificationMethod: trace.identificationMethod,
            apiKeyId: trace.apiKeyId, proxyMode: "route", clientOrigin: origin
        ) { b in
            if headersBound <= HeaderRules.loggableLimit {
                b.text(bound: headersBound) { HeaderRules.writeLoggable(fields, into: $0) }
            } else {
                b.text(HeaderRules.loggable(fields))
            }
        }
        services.port.requestLog.submit(row)
        handler.exchangeFinished(self)
    }
}
