import KnoxCore
import KnoxDataPlane
import KnoxEngine
import NIOCore
import NIOHTTP1

/// The head, idle and body-stall timeouts of one management connection (`[management]` in `config.toml`), the same
/// rules as the data plane's: a head must arrive within its timeout from the connection's start (or from its first
/// byte after an idle spell), a keep-alive connection may sit idle for its timeout, and a body may pause for its
/// stall timeout. One timer per connection (a management listener has few). Confined to the channel's event loop.
final class ConnectionTimer: @unchecked Sendable {
    enum Phase {
        case head, idle, body, busy
    }

    private(set) var phase = Phase.head
    private let limits: ListenerLimits
    private let stats: ConnectionStats?
    private var task: Scheduled<Void>?
    /// Bytes of the current head have arrived (a timeout then answers 408 instead of just closing).
    var headStarted = false
    /// The bytes handler's context, at the front of the pipeline: deadlines run, and last answers are written, there.
    var context: ChannelHandlerContext?

    init(limits: ListenerLimits, stats: ConnectionStats?) {
        self.limits = limits
        self.stats = stats
    }

    /// Enters `phase` and starts its deadline (none while a request is being handled).
    func enter(_ phase: Phase) {
        self.phase = phase
        task?.cancel()
        task = nil
        guard let context else { return }
        if phase == .head || phase == .idle { headStarted = false }
        let seconds: Double
        switch phase {
        case .head: seconds = limits.headTimeoutSec
        case .idle: seconds = limits.idleTimeoutSec
        case .body: seconds = limits.bodyStallTimeoutSec
        case .busy: return
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        task = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(ListenerLimits.nanos(seconds)))) {
            let (timer, context) = bound.value
            timer.expired(phase, context)
        }
    }

    func cancel() {
        task?.cancel()
        task = nil
    }

    private func expired(_ phase: Phase, _ context: ChannelHandlerContext) {
        guard phase == self.phase else { return }
        switch phase {
        case .head:
            stats?.count(.headTimeout)
            if headStarted {
                answer(408, .requestTimeout, "The request head did not arrive in time", context)
                return
            }
        case .idle: stats?.count(.idle)
        case .body:
            stats?.count(.bodyStall)
            answer(408, .requestTimeout, "The request body stopped arriving before it was complete", context)
            return
        case .busy: return
        }
        context.close(promise: nil)
    }

    /// A last answer written as bytes below the HTTP codec (no request is complete to answer through it), then close.
    private func answer(_ status: Int, _ type: ErrorType, _ message: String, _ context: ChannelHandlerContext) {
        let body = #"{"error":{"type":"\#(type.rawValue)","message":"\#(message)"}}"#
        var out = context.channel.allocator.buffer(capacity: 256)
        out.writeString(
            "HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n"
                + "Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nConnection: close\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        context.writeAndFlush(NIOAny(out)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

/// First in the pipeline, on bytes: a request's first byte after an idle spell starts its head deadline, and a body
/// that keeps arriving keeps its stall deadline away.
final class ConnectionTimerBytes: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let timer: ConnectionTimer

    init(_ timer: ConnectionTimer) { self.timer = timer }

    func handlerAdded(context: ChannelHandlerContext) { timer.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
        timer.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        timer.enter(.head)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch timer.phase {
        case .idle:
            timer.enter(.head)
            timer.headStarted = true
        case .head: timer.headStarted = true
        case .body: timer.enter(.body)
        case .busy: break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.cancel()
        context.fireChannelInactive()
    }
}

/// After the HTTP codec: a request's head, its end, and its answer's end move the connection between phases.
final class ConnectionTimerMessages: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    let timer: ConnectionTimer

    init(_ timer: ConnectionTimer) { self.timer = timer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: timer.enter(.body)
        case .body: break
        case .end: timer.enter(.busy)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Idle once the answer is out — unless the request is still arriving (an early 413 or Host refusal drains
        // the rest of the body, under the body's stall timeout).
        if case .end = unwrapOutboundIn(data), timer.phase == .busy { timer.enter(.idle) }
        context.write(data, promise: promise)
    }
}

/// Answers a request the HTTP parser refused (NIO's `HTTPServerProtocolErrorHandler`, with the API's error envelope):
/// `431 request_header_fields_too_large` for an over-large head, else `400 validation_error` naming the problem; the
/// codec closes the connection right after. Nothing is written when an answer is already under way.
final class ProtocolErrorAnswers: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var answering = false

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !answering {
            let (status, type, message): (HTTPResponseStatus, ErrorType, String) =
                parserError == .headerOverflow
                ? (
                    .requestHeaderFieldsTooLarge, .headersTooLarge,
                    "The request head is larger than this listener accepts"
                )
                : (.badRequest, .validationError, "Malformed HTTP request: \(parserError)")
            let body = ByteBuffer(string: #"{"error":{"type":"\#(type.rawValue)","message":"\#(message)"}}"#)
            let headers = HTTPHeaders([
                ("Connection", "close"), ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", String(body.readableBytes)),
            ])
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: answering = true
        case .end: answering = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
