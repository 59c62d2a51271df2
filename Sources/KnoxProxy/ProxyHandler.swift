import KnoxCore
import KnoxEngine
import NIOCore
import NIOHTTP1

/// The data plane's handler for one downstream connection: it runs each request's exchange and writes the answers.
/// Confined to the connection's event loop.
final class ProxyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    let services: ProxyServices
    private(set) var peer: IPAddress?
    /// `peer` as text, computed once per connection (it goes into X-Forwarded-For and every log row).
    private(set) var peerText: String?
    private var current: Exchange?
    /// Parts of pipelined requests that arrived while an earlier answer was still being written; answered in order.
    private var pipelined: [HTTPServerRequestPart] = []
    private var reading = true
    private var closed = false
    private var closing = false
    /// How the body of the answer being written is delimited (set by its head).
    private var framing: ResponseFraming = .length
    /// The answer being written ends the connection (HTTP/1.0 caller, body without a length).
    private var closeAfterAnswer = false
    /// Request ids come from a fast generator seeded once per connection from the system's, not a syscall per request.
    var random = FastRandom()

    init(services: ProxyServices) {
        self.services = services
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)?.unmapped
        peerText = peer?.description
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !pipelined.isEmpty || (current?.requestEnded ?? false) {
            // An earlier request's answer is still on its way: keep this one for later (HTTP/1.1 answers in order).
            pipelined.append(part)
            if pipelined.count > 64 { setReading(context, false) }
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            let exchange = Exchange(handler: self, context: context, head: head, services: services)
            current = exchange
            exchange.begin(peer: peer)
        case .body(let buffer):
            current?.requestBody(buffer)
        case .end:
            current?.requestEnd()
        }
    }

    /// Runs the pipelined parts that were waiting for the previous answer.
    private func drainPipelined(_ context: ChannelHandlerContext) {
        guard !closing else {
            pipelined = []
            return
        }
        while !pipelined.isEmpty && !(current?.requestEnded ?? false) {
            handle(pipelined.removeFirst(), context: context)
        }
        if pipelined.count <= 64 { setReading(context, true) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
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
        guard error is HTTPParserError else {
            context.close(promise: nil)
            return
        }
        // Malformed HTTP (bad chunking, conflicting framing, garbage): answered 400, logged, never forwarded.
        let requestId = Identifier.requestID()
        let head = current?.head
        if let exchange = current, exchange.responseStarted {
            exchange.downstreamClosed()
            current = nil
            context.close(promise: nil)
            return
        }
        current?.finished = true
        current = nil
        pipelined = []
        closing = true
        services.engine.requestLog.submit(
            RequestLogEntry(
                requestId: requestId, ts: services.engine.clock.nowMillis(), srcIp: peer?.description,
                method: head?.method.rawValue ?? "-", path: head.map { String(Exchange.originForm($0.uri).prefix { $0 != "?" }) } ?? "-",
                statusCode: 400, latencyMs: 0, error: ErrorType.validationError.rawValue))
        let refusal = Refusal(.validationError, "Malformed HTTP request")
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
            "error": ["type": .string(refusal.type.rawValue), "message": .string(refusal.message), "request_id": .string(requestId)]
        ]
        var headers: [(String, String)] = [
            ("Content-Type", "application/json; charset=utf-8"), ("X-Request-Id", requestId), ("Cache-Control", "no-store"),
        ]
        headers += refusal.headers
        if let retry = refusal.retryAfter { headers.append(("Retry-After", String(retry))) }
        if refusal.type == .dependencyUnavailable { headers.append(("Retry-After", "1")) }
        var out = context.channel.allocator.buffer(capacity: 512)
        ResponseWriter.complete(
            version: version, status: HTTPResponseStatus(statusCode: refusal.type.status), headers: headers,
            body: body.serializedBytes(), keepAlive: keepAlive, into: &out)
        current = nil
        if !keepAlive {
            closing = true
            context.writeAndFlush(wrapOutboundOut(out)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
        setReading(context, true)
        drainPipelined(context)
    }

    /// The head of an upstream's answer, as the caller gets it.
    func writeResponseHead(
        _ context: ChannelHandlerContext, _ upstream: HTTPResponseHead, request: HTTPRequestHead, requestId: String,
        rateLimit: [(String, String)], dpopNonce: String?, keepAlive: Bool
    ) {
        var out = context.channel.allocator.buffer(capacity: 256 + upstream.headers.count * 48)
        framing = ResponseWriter.head(
            upstream, version: request.version, requestMethod: request.method, requestId: requestId,
            rateLimit: rateLimit, dpopNonce: dpopNonce, keepAlive: keepAlive, into: &out)
        closeAfterAnswer = framing == .close
        context.write(wrapOutboundOut(out), promise: nil)
    }

    func writeResponseBody(_ context: ChannelHandlerContext, _ buffer: ByteBuffer, upstream: UpstreamConnection?) {
        switch framing {
        case .none:
            return
        case .length, .close:
            context.write(wrapOutboundOut(buffer), promise: nil)
        case .chunked:
            guard buffer.readableBytes > 0 else { return }  // a zero-size chunk would end the body
            var prefix = context.channel.allocator.buffer(capacity: 12)
            ResponseWriter.chunkPrefix(buffer.readableBytes, into: &prefix)
            if buffer.readableBytes <= 4096 {
                // Small parts: one buffer, one iovec.
                prefix.writeImmutableBuffer(buffer)
                prefix.writeStaticString("\r\n")
                context.write(wrapOutboundOut(prefix), promise: nil)
            } else {
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

    /// Ends the answer. `completed` runs once the end is handed to the socket (a flush writes at once when the socket
    /// takes it), without a promise and a callback per request.
    func writeResponseEnd(_ context: ChannelHandlerContext, keepAlive: Bool, completed: () -> Void) {
        current = nil
        if framing == .chunked {
            context.write(wrapOutboundOut(ByteBuffer(staticString: "0\r\n\r\n")), promise: nil)
        }
        if keepAlive && !closeAfterAnswer {
            context.flush()
        } else {
            closing = true
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
        framing = .length
        closeAfterAnswer = false
        completed()
        setReading(context, true)
        drainPipelined(context)
    }

    func flush(_ context: ChannelHandlerContext) { context.flush() }

    /// Ends the connection without a complete answer (the upstream failed mid-response).
    func abort(_ context: ChannelHandlerContext) {
        current = nil
        closing = true
        pipelined = []
        context.close(promise: nil)
    }

    /// Turns reading from the caller on or off (request-body backpressure).
    func setReading(_ context: ChannelHandlerContext, _ on: Bool) {
        guard on != reading, !closed else { return }
        reading = on
        try? context.channel.syncOptions?.setOption(.autoRead, value: on)
    }

    func exchangeFinished(_ exchange: Exchange) {
        if current === exchange { current = nil }
    }
}
