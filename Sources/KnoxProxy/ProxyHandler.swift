import KnoxCore
import KnoxEngine
import NIOCore
import NIOHTTP1

/// The data plane's handler for one downstream connection: it runs each request's exchange and writes the answers.
/// Confined to the connection's event loop.
final class ProxyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

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
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
    }

    /// A KnoxCall answer (refusal or upstream failure) in the management API's error envelope.
    func writeError(
        _ context: ChannelHandlerContext, _ refusal: Refusal, requestId: String, keepAlive: Bool,
        version: HTTPVersion = .http1_1
    ) {
        let body: JSONValue = [
            "error": ["type": .string(refusal.type.rawValue), "message": .string(refusal.message), "request_id": .string(requestId)]
        ]
        let bytes = body.serializedBytes()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: String(bytes.count))
        headers.add(name: "X-Request-Id", value: requestId)
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in refusal.headers { headers.add(name: name, value: value) }
        if let retry = refusal.retryAfter { headers.add(name: "Retry-After", value: String(retry)) }
        if refusal.type == .dependencyUnavailable { headers.add(name: "Retry-After", value: "1") }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: refusal.type.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
        current = nil
        if !keepAlive { closing = true }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
        setReading(context, true)
        drainPipelined(context)
    }

    func writeResponseHead(_ context: ChannelHandlerContext, _ head: HTTPResponseHead) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    func writeResponseBody(_ context: ChannelHandlerContext, _ buffer: ByteBuffer, upstream: UpstreamConnection?) {
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        if !context.channel.isWritable, let upstream {
            // The caller reads slower than the upstream sends: stop reading the upstream until it catches up. Stop
            // first, then flush: the flush may make us writable again at once, and that event turns reading back on.
            try? upstream.channel.syncOptions?.setOption(.autoRead, value: false)
            context.flush()
        }
    }

    func writeResponseEnd(_ context: ChannelHandlerContext, keepAlive: Bool, completed: @escaping () -> Void) {
        current = nil
        if !keepAlive { closing = true }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            completed()
            if !keepAlive { context.close(promise: nil) }
        }
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
