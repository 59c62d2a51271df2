import KnoxCore
import KnoxDataPlane
import NIOCore
import NIOHTTP1

/// One request through the data plane, from its head to the log row. Confined to the downstream connection's event
/// loop, which is also the loop of its upstream connection: nothing here is shared between threads.
final class Exchange: Slotted, @unchecked Sendable {
    enum BodyMode {
        /// The route or its placeholders need the whole body (≤ 1 MiB) before anything goes upstream.
        case buffer
        /// The body is forwarded as it arrives.
        case stream
        /// Refused: the rest of the body is read and dropped, then the refusal is sent.
        case discard
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

    var trace = GateTrace()
    var admission: Admission?
    var refusal: Refusal?
    var mode: BodyMode = .stream
    var buffered: [UInt8] = []
    /// Upstream-bound bytes (body parts, already framed) that arrived before the upstream connection was ready.
    var pendingParts: [ByteBuffer] = []
    /// The request body goes upstream in chunked coding (streamed, no length known).
    var chunkedUpstream = false
    var requestEnded = false
    var upstream: UpstreamConnection?
    var upstreamRequestSent = false
    var upstreamStartNanos: UInt64 = 0
    var upstreamStatus: Int?
    var responseStarted = false
    var finished = false
    /// Monotonic nanoseconds by which the upstream must have answered (0: not waiting).
    var deadlineNanos: UInt64 = 0
    /// Where this exchange sits in its pool's list of exchanges waiting for an answer (-1: not listed).
    var watchSlot = -1
    var retried = false
    /// The whole request body when it was held, so a stale pooled connection can be retried.
    var replayableBody: [UInt8]?
    /// The request head as it goes upstream (kept to send again on a retry).
    var upstreamHead: ByteBuffer?

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

    // MARK: - Request side

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
            let hasBody = known.hasBody
            let bodyMethod: Bool
            switch head.method {
            case .POST, .PUT, .PATCH: bodyMethod = true
            default: bodyMethod = false
            }
            let mustHold = a.signature != nil || (bodyMethod && a.plan.injectBody != nil)
            let wantHold = mustHold || (bodyMethod && hasBody && BodyKind(contentType: known.contentType).isScanned)
            if let declared, declared > ProxyServices.maxHeldBody, wantHold {
                if mustHold {
                    refuse(
                        Refusal(
                            .payloadTooLarge, "This route needs the whole body and takes at most 1 MiB", trace: trace))
                    return
                }
                mode = .stream
            } else {
                mode = wantHold ? .buffer : .stream
            }
            if let expect = known.expect, HeaderRules.same(expect, "100-continue") {
                handler.writeContinue(context)
            }
            if mode == .stream { startUpstream(body: nil, streaming: hasBody) }
        }
    }

    func requestBody(_ buffer: ByteBuffer) {
        switch mode {
        case .discard:
            return
        case .buffer:
            if buffered.count + buffer.readableBytes > ProxyServices.maxHeldBody {
                if admission?.signature != nil || (admission?.plan.injectBody != nil) {
                    refuse(
                        Refusal(
                            .payloadTooLarge, "This route needs the whole body and takes at most 1 MiB", trace: trace))
                    buffered = []
                    return
                }
                // Too large to look into: forward what was held and stream the rest untouched.
                mode = .stream
                let held = buffered
                buffered = []
                startUpstream(body: nil, streaming: true)
                if !held.isEmpty { sendUpstream(ByteBuffer(bytes: held)) }
                sendUpstream(buffer)
                return
            }
            buffered.append(contentsOf: buffer.readableBytesView)
        case .stream:
            sendUpstream(buffer)
        }
    }

    func requestEnd() {
        requestEnded = true
        switch mode {
        case .discard:
            sendRefusal()
        case .buffer:
            guard var a = admission else { return }
            let gate = services.gate(snapshot, nowMillis: startMillis)
            if let r = gate.finish(&a, trace: &trace, method: head.method.rawValue, target: target, body: buffered) {
                refusal = r
                mode = .discard
                sendRefusal()
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
                mode = .discard
                sendRefusal()
            }
        case .stream:
            sendUpstreamEnd()
            if upstreamRequestSent { startAnswerClock() }
        }
    }

    private func refuse(_ r: Refusal) {
        var r = r
        if r.trace.routeId == nil && r.trace.clientIP == nil { r.trace = trace }
        trace = r.trace
        refusal = r
        mode = .discard
        if requestEnded { sendRefusal() }
    }

    private func sendRefusal(keepAlive: Bool? = nil) {
        guard let refusal, !finished, !responseStarted else { return }
        responseStarted = true
        // The row first: a caller that has the answer can already find it.
        finish(status: refusal.type.status, error: refusal.type.rawValue)
        handler.writeError(
            context, refusal, requestId: requestId, keepAlive: keepAlive ?? self.keepAlive, version: head.version)
    }

    /// The rest of the request is not acceptable HTTP (bad chunking): refused with this exchange's own id and log row,
    /// and the connection ends. Nothing more goes upstream.
    func rejectMalformed(_ message: String) {
        guard !finished, !responseStarted else { return }
        stopWaiting()
        dropUpstream()
        refusal = Refusal(.validationError, "Malformed HTTP request: \(message)", trace: trace)
        mode = .discard
        sendRefusal(keepAlive: false)
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
            mode = .discard
            if requestEnded { sendRefusal() }
            return
        }
        replayableBody = body
        if let body, !body.isEmpty { pendingParts = [ByteBuffer(bytes: body)] }
        connect()
    }

    private func connect() {
        guard let plan = admission?.plan else { return }
        // Body parts that arrive before the connection are queued; stop reading so that queue stays small.
        let streamingBody = replayableBody == nil && requestHasBody && !requestEnded
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
        guard !finished, admission != nil else {
            handler.pool.release(connection)
            return
        }
        upstream = connection
        connection.exchange = self
        connection.decoder.expect(toHEAD: head.method == .HEAD)
        upstreamStartNanos = services.monotonic.nowNanos()
        if let upstreamHead { connection.write(upstreamHead) }
        upstreamRequestSent = true
        let parts = pendingParts
        pendingParts = []
        for part in parts { connection.write(part) }
        connection.flushSoon(handler.pool.flushes)
        if requestEnded {
            startAnswerClock()
        } else {
            handler.setReading(context, connection.channel.isWritable)
        }
    }

    /// The upstream has the whole request: its answer is due within the route's timeout, counted from now (a slow
    /// upload is the caller's time, watched by the connection's body-stall timeout, not the upstream's).
    private func startAnswerClock() {
        guard let plan = admission?.plan, !finished, !responseStarted, deadlineNanos == 0 else { return }
        deadlineNanos = NIODeadline.now().uptimeNanoseconds + UInt64(plan.timeoutSec) * 1_000_000_000
        handler.pool.watch(self)
    }

    /// One part of a streamed request body, framed for the upstream.
    private func sendUpstream(_ part: ByteBuffer) {
        guard !finished, part.readableBytes > 0 else { return }
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
        guard !finished else { return }
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
        guard !finished else { return }
        stopWaiting()
        upstreamStatus = responseHead.status
        responseStarted = true
        handler.writeResponseHead(
            context, responseHead, request: head, requestId: requestId, rateLimit: admission?.rateLimit,
            dpopNonce: admission?.dpopNonce, keepAlive: keepAlive)
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        guard !finished else { return }
        handler.writeResponseBody(context, buffer, upstream: upstream)
    }

    /// The answer is complete; `reusable` says whether the upstream connection can serve another request.
    func upstreamEnd(reusable: Bool) {
        guard !finished else { return }
        let connection = upstream
        upstream = nil
        handler.writeResponseEnd(context, keepAlive: keepAlive) {
            finish(status: upstreamStatus ?? 502, error: nil)
        }
        if let connection {
            if reusable && requestEnded && connection.channel.isActive {
                handler.pool.release(connection)
            } else {
                connection.exchange = nil
                connection.channel.close(promise: nil)
            }
        }
    }

    func upstreamReadComplete() {
        if responseStarted { handler.flush(context) }
    }

    func upstreamClosed(_ connection: UpstreamConnection) {
        guard upstream === connection, !finished else { return }
        upstream = nil
        if !responseStarted && connection.reused && !retried && (replayableBody != nil || !requestHasBody) {
            // A pooled keep-alive connection the upstream had closed: try once more on a fresh one.
            retried = true
            pendingParts = replayableBody.flatMap { $0.isEmpty ? nil : [ByteBuffer(bytes: $0)] } ?? []
            stopWaiting()
            connect()
            return
        }
        if responseStarted {
            // Mid-answer: all the caller can be told is that the connection ended.
            finish(status: upstreamStatus ?? 502, error: ErrorType.upstreamUnreachable.rawValue)
            handler.abort(context)
        } else {
            fail(.upstreamUnreachable, "The upstream closed the connection before answering")
        }
    }

    private var requestHasBody: Bool {
        known.hasBody
    }

    /// Called by the loop's sweep once `deadlineNanos` has passed.
    func deadlinePassed() {
        guard !finished, !responseStarted, deadlineNanos > 0 else { return }
        fail(
            .upstreamTimeout,
            "The upstream did not answer within \(admission?.plan.timeoutSec ?? 30)s of receiving the whole request")
    }

    /// The upstream's answer is not acceptable HTTP: reported as such (its connection is closed and never reused).
    func upstreamMalformed(_ message: String) {
        guard !finished else { return }
        fail(.upstreamInvalidResponse, "The upstream's answer is not valid HTTP: \(message)")
    }

    /// The caller stopped sending the request body (the connection's body-stall timeout): answered 408 when nothing
    /// was answered yet (or the refusal already decided, which was waiting for the body's end), and the connection
    /// ends either way.
    func requestStalled() {
        guard !finished else { return }
        stopWaiting()
        dropUpstream()
        if responseStarted {
            finish(status: upstreamStatus ?? 408, error: ErrorType.requestTimeout.rawValue)
            handler.abort(context)
            return
        }
        if refusal == nil {
            refusal = Refusal(.requestTimeout, "The request body stopped arriving before it was complete", trace: trace)
        }
        mode = .discard
        sendRefusal(keepAlive: false)
    }

    /// The upstream stopped taking the streamed request body (reading from the caller was held back for it for the
    /// body-stall timeout): a 504 once the caller's body is in, as for an upstream that does not answer.
    func upstreamStoppedReading() {
        fail(.upstreamTimeout, "The upstream stopped reading the request body")
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

    private func fail(_ type: ErrorType, _ message: String) {
        guard !finished else { return }
        stopWaiting()
        dropUpstream()
        if responseStarted {
            finish(status: upstreamStatus ?? type.status, error: type.rawValue)
            handler.abort(context)
            return
        }
        refusal = Refusal(type, message, trace: trace)
        mode = .discard
        if requestEnded {
            sendRefusal()
        } else {
            // The rest of the body is read and dropped; the answer goes out at its end.
            handler.setReading(context, true)
        }
    }

    /// The process's shutdown grace period ended before this exchange did: its row says so (not the caller's doing).
    func cutByShutdown() {
        guard !finished else { return }
        stopWaiting()
        dropUpstream()
        finish(status: upstreamStatus ?? 503, error: "server_shutdown")
    }

    /// The downstream connection went away mid-exchange.
    func downstreamClosed() {
        guard !finished else { return }
        stopWaiting()
        dropUpstream()
        finish(status: upstreamStatus ?? 499, error: "client_closed_request")
    }

    // MARK: - Log

    private func finish(status: Int, error: String?) {
        guard !finished else { return }
        finished = true
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
