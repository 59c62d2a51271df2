import KnoxCore
import KnoxDataPlane
import NIOCore
import NIOHTTP1

/// The data plane's handler for one downstream connection: it decodes requests from the bytes (RequestDecoder),
/// runs each request's exchange and writes the answers. The only handler in the connection's pipeline; confined to
/// the connection's event loop.
final class ProxyHandler: ChannelInboundHandler, Slotted, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Pipelined requests beyond this many bytes stop reading from the caller until earlier answers are out.
    static let maxPipelinedBytes = 256 * 1024

    let services: ProxyServices
    /// The upstream pool (and flush batch) of this connection's event loop, looked up once per connection.
    let pool: UpstreamPool
    /// The key this connection last presented and what it resolved to, for the current configuration.
    let memo = InvokerMemo()
    private(set) var peer: IPAddress?
    /// `peer` as text, computed once per connection (it goes into X-Forwarded-For and every log row).
    private(set) var peerText: String?
    private var current: Exchange?
    private var decoder = RequestDecoder()
    /// A request's head arrived and its end has not: bytes still belong to it.
    private var requestOpen = false
    private var reading = true
    /// Reading was turned off because too many pipelined bytes wait (as opposed to an exchange's backpressure).
    private var pausedForPipelining = false
    private var closed = false
    /// The connection is on its way out (after an answer with `Connection: close`, a refusal, an abort); the sweep
    /// closes it outright if it is still open a head timeout later (a caller that never reads the last answer).
    private var closing = false {
        didSet { if closing && !oldValue { closingSince = pool.clock } }
    }
    private var closingSince: UInt64 = 0
    /// Since when the caller has not been reading the answer (the channel not writable); 0: it is.
    private var unreadSince: UInt64 = 0
    /// The process is stopping: the answer under way is the last on this connection.
    private var draining = false
    /// `process` is running: a call from inside it (an answer written synchronously) only asks it to go on.
    private var processing = false
    private var processAgain = false
    /// How the body of the answer being written is delimited (set by its head).
    private var framing: ResponseFraming = .length
    /// The answer being written ends the connection (HTTP/1.0 caller, body without a length).
    private var closeAfterAnswer = false
    /// The answer's head, held back so that a small body joins it in one buffer (one write, not a writev of two);
    /// written before anything else goes out, and at the latest when the upstream's read ends.
    private var heldHead: ByteBuffer?
    static let coalescedBytes = 16 * 1024
    /// Request ids come from a fast generator seeded once per connection from the system's, not a syscall per request.
    var random = FastRandom()
    /// Where the connection stands, for the loop's sweep (`ConnectionWatch`), and its slot in the sweep's list.
    private(set) var phase = ConnectionPhase.head(since: 0)
    var watchSlot = -1
    /// Request-body bytes received so far, and what the sweep saw last: a body that makes no progress between sweeps
    /// for the stall timeout is cut off. Phases are stamped with the pool's sweep clock: no clock reading per request.
    private var bodyBytes = 0
    private var stallSeenBytes = 0
    private var stallSince: UInt64 = 0
    private var context: ChannelHandlerContext?

    init(services: ProxyServices, pool: UpstreamPool) {
        self.services = services
        self.pool = pool
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)?.unmapped
        peerText = peer?.description
        self.context = context
        pool.watch(self)
        phase = .head(since: pool.clock)
        // Accepted just as the process began to stop (after its loop's connections were told).
        if services.stopping.load(ordering: .relaxed) { shutDown() }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }  // answered with Connection: close; whatever follows is not read
        let bytes = unwrapInboundIn(data)
        switch phase {
        case .idle: phase = .head(since: pool.clock)  // a request begins: its head has a deadline
        case .body: bodyBytes &+= bytes.readableBytes
        case .head, .busy: break
        }
        decoder.feed(bytes)
        process(context)
    }

    /// Hands decoded requests to exchanges, one at a time: the next request's head waits (in the decoder's buffer)
    /// until the previous answer is out, because HTTP/1.1 answers in order.
    private func process(_ context: ChannelHandlerContext) {
        if processing {
            processAgain = true
            return
        }
        processing = true
        defer { processing = false }
        repeat {
            processAgain = false
            while !closing && !(decoder.betweenRequests && current != nil) {
                let event: RequestDecoder.Event?
                do {
                    event = try decoder.next()
                } catch {
                    malformed(context, error.error, head: error.head)
                    return
                }
                guard let event else { break }
                switch event {
                case .head(let head, let known):
                    if draining {
                        // Stopping: no new request starts; the caller retries elsewhere (nothing was sent upstream).
                        closing = true
                        context.close(promise: nil)
                        return
                    }
                    requestOpen = true
                    phase = .body
                    stallSince = 0  // the next sweep starts the stall clock
                    stallSeenBytes = bodyBytes
                    let exchange = Exchange(
                        handler: self, context: context, head: head, known: known, services: services)
                    current = exchange
                    exchange.begin(peer: peer)
                case .body(let buffer):
                    current?.requestBody(buffer)
                case .end:
                    requestOpen = false
                    if let exchange = current {
                        phase = .busy
                        exchange.requestEnd()
                    } else if draining {
                        closing = true
                        context.close(promise: nil)
                        return
                    } else {
                        // Answered before its body ended (an early refusal or upstream answer): idle now.
                        phase = decoder.bufferedBytes > 0 ? .head(since: pool.clock) : .idle(since: pool.clock)
                    }
                }
            }
        } while processAgain && !closing
        // Pipelined requests pile up while an answer is on its way: past a bound, stop reading until they are served.
        if decoder.betweenRequests && current != nil && decoder.bufferedBytes > Self.maxPipelinedBytes {
            pausedForPipelining = true
            setReading(context, false)
        } else if pausedForPipelining {
            pausedForPipelining = false
            setReading(context, true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        pool.connections.remove(self)
        self.context = nil
        current?.downstreamClosed()
        current = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The caller drained what we wrote: let the upstream's answer flow again.
        if context.channel.isWritable, let upstream = current?.upstream {
            try? upstream.channel.syncOptions?.setOption(.autoRead, value: true)
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    /// Bytes that are not an acceptable request (bad framing, bad chunking, conflicting lengths, garbage): answered
    /// 400 (414 for an over-long target, 431 for an over-large head), logged, never forwarded, and the connection ends
    /// (where the next request would start is unknown).
    private func malformed(_ context: ChannelHandlerContext, _ error: WireError, head: RequestHead?) {
        let message = error.message
        if current == nil && requestOpen {
            // The rest of a request body that was already answered (the upstream did not wait for it): nothing is
            // owed to the caller, and the connection cannot go on.
            abort(context)
            return
        }
        if let exchange = current {
            current = nil
            if exchange.responseStarted {
                exchange.downstreamClosed()
                abort(context)
            } else {
                exchange.rejectMalformed(message)
            }
            return
        }
        let refusal: Refusal
        switch error.kind {
        case .malformed: refusal = Refusal(.validationError, "Malformed HTTP request: \(message)")
        case .targetTooLong: refusal = Refusal(.uriTooLong, message)
        case .headTooLarge: refusal = Refusal(.headersTooLarge, message)
        }
        // One clock reading for the id and the row: the log finds a row by its id's time.
        let now = services.port.clock.nowMillis()
        let requestId = Identifier.requestID(millis: now, using: &random)
        services.port.requestLog.submit(
            RequestLogEntry(
                requestId: requestId, ts: now, srcIp: peerText,
                method: head?.method.rawValue ?? "-",
                path: head.map { String(Exchange.loggedPath(Exchange.originForm($0.target))) } ?? "-",
                statusCode: refusal.type.status, latencyMs: 0, error: refusal.type.rawValue))
        writeError(context, refusal, requestId: requestId, keepAlive: false, version: head?.version ?? .http1_1)
    }

    // MARK: - Writing answers

    func writeContinue(_ context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 32)
        out.writeStaticString(ResponseWriter.continueLine)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    /// A KnoxCall answer (refusal or upstream failure) in the management API's error envelope.
    func writeError(
        _ context: ChannelHandlerContext, _ refusal: Refusal, requestId: String, keepAlive: Bool,
        version: HTTPVersion = .http1_1
    ) {
        let body: JSONValue = [
            "error": [
                "type": .string(refusal.type.rawValue), "message": .string(refusal.message),
                "request_id": .string(requestId),
            ]
        ]
        var headers: [(String, String)] = [
            ("Content-Type", "application/json; charset=utf-8"), ("X-Request-Id", requestId),
            ("Cache-Control", "no-store"),
        ]
        headers += refusal.headers
        if let retry = refusal.retryAfter { headers.append(("Retry-After", String(retry))) }
        if refusal.type == .dependencyUnavailable { headers.append(("Retry-After", "1")) }
        var out = context.channel.allocator.buffer(capacity: 512)
        let keepAlive = mayKeepAlive(keepAlive)
        ResponseWriter.complete(
            version: version, status: HTTPResponseStatus(statusCode: refusal.type.status), headers: headers,
            body: body.serializedBytes(), keepAlive: keepAlive, into: &out)
        current = nil
        if !keepAlive {
            closing = true
            context.writeAndFlush(wrapOutboundOut(out)).assumeIsolated().whenComplete { _ in context.close(promise: nil)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
        answered(context)
    }

    /// The head of an upstream's answer, as the caller gets it.
    func writeResponseHead(
        _ context: ChannelHandlerContext, _ upstream: ResponseHead, request: RequestHead, requestId: String,
        rateLimit: RateLimitFigures?, dpopNonce: String?, keepAlive: Bool
    ) {
        releaseHead(context)
        var out = context.channel.allocator.buffer(capacity: 1280 + upstream.fields.bytes.readableBytes)
        framing = ResponseWriter.head(
            upstream, version: request.version, requestMethod: request.method, requestId: requestId,
            rateLimit: rateLimit, dpopNonce: dpopNonce, keepAlive: mayKeepAlive(keepAlive), into: &out)
        closeAfterAnswer = framing == .close
        heldHead = out
    }

    /// Writes the held head, if any.
    private func releaseHead(_ context: ChannelHandlerContext) {
        guard let head = heldHead else { return }
        heldHead = nil
        context.write(wrapOutboundOut(head), promise: nil)
    }

    func writeResponseBody(_ context: ChannelHandlerContext, _ buffer: ByteBuffer, upstream: UpstreamConnection?) {
        if framing == .none { return }
        if var held = heldHead, held.readableBytes + buffer.readableBytes <= Self.coalescedBytes {
            // A small body (the usual JSON answer) travels in the head's buffer.
            heldHead = nil  // uniquely held: the appends below copy nothing already there
            if framing == .chunked {
                guard buffer.readableBytes > 0 else {
                    heldHead = held
                    return
                }
                ResponseWriter.chunk(buffer, into: &held)
            } else {
                held.writeImmutableBuffer(buffer)
            }
            heldHead = held
            return
        }
        releaseHead(context)
        switch framing {
        case .none:
            return
        case .length, .close:
            context.write(wrapOutboundOut(buffer), promise: nil)
        case .chunked:
            guard buffer.readableBytes > 0 else { return }  // a zero-size chunk would end the body
            if buffer.readableBytes <= 4096 {
                // Small parts: one buffer, one iovec.
                var framed = context.channel.allocator.buffer(capacity: buffer.readableBytes + 24)
                ResponseWriter.chunk(buffer, into: &framed)
                context.write(wrapOutboundOut(framed), promise: nil)
            } else {
                var prefix = context.channel.allocator.buffer(capacity: 12)
                ResponseWriter.chunkPrefix(buffer.readableBytes, into: &prefix)
                context.write(wrapOutboundOut(prefix), promise: nil)
                context.write(wrapOutboundOut(buffer), promise: nil)
                context.write(wrapOutboundOut(ByteBuffer(staticString: "\r\n")), promise: nil)
            }
        }
        if !context.channel.isWritable, let upstream {
            // The caller reads slower than the upstream sends: stop reading the upstream until it catches up. Stop
            // first, then flush: the flush may make us writable again at once, and that event turns reading back on.
            try? upstream.channel.syncOptions?.setOption(.autoRead, value: false)
            context.flush()
        }
    }

    /// Ends the answer. `completed` (the log row) runs before the end is flushed, so a caller that has the whole answer
    /// can already find its row; no promise and no callback per request.
    func writeResponseEnd(_ context: ChannelHandlerContext, keepAlive: Bool, completed: () -> Void) {
        current = nil
        releaseHead(context)
        if framing == .chunked {
            context.write(wrapOutboundOut(ByteBuffer(staticString: "0\r\n\r\n")), promise: nil)
        }
        completed()
        if mayKeepAlive(keepAlive) && !closeAfterAnswer {
            pool.flushes.flushSoon(context)
        } else {
            closing = true
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
        framing = .length
        closeAfterAnswer = false
        answered(context)
    }

    /// An answer is out: reading resumes and the next pipelined request, if any, starts.
    private func answered(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        if !requestOpen {
            // Bytes of the next request already here: its head is due; none: the connection is idle.
            phase = decoder.bufferedBytes > 0 ? .head(since: pool.clock) : .idle(since: pool.clock)
        }
        setReading(context, true)
        process(context)
    }

    // MARK: - Shutdown

    /// The process is stopping: an idle connection (or one with nothing of a request yet) closes now; one with a
    /// request under way gets its answer, marked `Connection: close`, and then closes.
    func shutDown() {
        guard let context, !closing else { return }
        draining = true
        if current == nil && !requestOpen && decoder.bufferedBytes == 0 {
            closing = true
            context.close(promise: nil)
        }
    }

    /// The shutdown grace period is over.
    func closeNow() {
        guard let context else { return }
        current?.cutByShutdown()
        current = nil
        closing = true
        context.close(promise: nil)
    }

    /// Whether an answer may keep the connection open (not once the process is stopping).
    func mayKeepAlive(_ requested: Bool) -> Bool { requested && !draining }

    // MARK: - Deadlines

    /// Whether a deadline of the current phase has passed (the sweep asks every connection; cheap).
    func isDue(now: UInt64) -> Bool {
        let deadlines = services.deadlines
        if closing { return now &- closingSince >= deadlines.head }
        switch phase {
        case .head(let since): return now &- since >= deadlines.head
        case .idle(let since): return now &- since >= deadlines.idle
        case .body:
            if stallSince == 0 || bodyBytes != stallSeenBytes {
                // Progress since the last sweep (or the body just began).
                stallSeenBytes = bodyBytes
                stallSince = now
                return false
            }
            // No bytes: the caller stopped sending, or (reading held back) the upstream stopped taking them.
            return now &- stallSince >= deadlines.bodyStall
        case .busy:
            // The whole request is in; the exchange's upstream deadlines run. A caller that stops reading the answer
            // for as long as a body may stall is cut off (its upstream is held meanwhile).
            guard context?.channel.isWritable == false else {
                unreadSince = 0
                return false
            }
            if unreadSince == 0 { unreadSince = now }
            return now &- unreadSince >= deadlines.bodyStall
        }
    }

    /// Acts on the deadline that passed: a head that did not arrive (408 when part of it did, else just closed), an
    /// idle keep-alive connection (closed), a body that stopped (the exchange answers 408, or 504 when the upstream
    /// stopped taking it), a caller that stopped reading its answer, a connection that would not finish closing.
    func deadlinePassed(now: UInt64) {
        guard let context else { return }
        let stats = services.port.connectionStats
        if closing {
            context.close(promise: nil)
            return
        }
        switch phase {
        case .head:
            stats.count(.headTimeout)
            if decoder.bufferedBytes > 0 && current == nil {
                let refusal = Refusal(.requestTimeout, "The request head did not arrive in time")
                let requestId = Identifier.requestID(millis: services.port.clock.nowMillis(), using: &random)
                writeError(context, refusal, requestId: requestId, keepAlive: false)
            } else {
                closing = true
                context.close(promise: nil)
            }
        case .idle:
            stats.count(.idle)
            closing = true
            context.close(promise: nil)
        case .body:
            guard reading || current == nil else {
                current?.upstreamStoppedReading()
                stallSince = now
                return
            }
            stats.count(.bodyStall)
            if let exchange = current {
                current = nil
                exchange.requestStalled()
            }
            if !closing {
                closing = true
                context.close(promise: nil)
            }
        case .busy:
            stats.count(.readerStall)
            current?.downstreamClosed()
            abort(context)
        }
    }

    func flush(_ context: ChannelHandlerContext) {
        releaseHead(context)
        context.flush()
    }

    /// Ends the connection without a complete answer (the upstream failed mid-response).
    func abort(_ context: ChannelHandlerContext) {
        current = nil
        heldHead = nil
        closing = true
        context.close(promise: nil)
    }

    /// Turns reading from the caller on or off (request-body backpressure).
    func setReading(_ context: ChannelHandlerContext, _ on: Bool) {
        guard on != reading, !closed else { return }
        reading = on
        try? context.channel.syncOptions?.setOption(.autoRead, value: on)
    }

    /// Takes back a finished request's field list for the connection's next request.
    func recycle(_ spans: [FieldSpan]) { decoder.recycle(spans) }

    func exchangeFinished(_ exchange: Exchange) {
        if current === exchange { current = nil }
    }
}
