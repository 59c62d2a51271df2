import KnoxCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A keep-alive connection to an upstream, owned by one event loop.
final class UpstreamConnection: @unchecked Sendable {
    // Confined to its event loop: every access happens on `channel.eventLoop`.
    let channel: Channel
    let key: String
    /// The exchange being served, nil while idle in the pool.
    var exchange: Exchange?
    /// True once a request went over this connection (a failure before its answer may be a stale keep-alive).
    var reused = false

    init(channel: Channel, key: String) {
        self.channel = channel
        self.key = key
    }
}

/// Idle upstream connections of one event loop, by scheme/host/port. Only its loop touches it: no lock.
final class UpstreamPool: @unchecked Sendable {
    // Confined to `eventLoop`.
    let eventLoop: EventLoop
    let tls: NIOSSLContext?
    private var idle: [String: [UpstreamConnection]] = [:]
    static let maxIdlePerKey = 64

    init(eventLoop: EventLoop, tls: NIOSSLContext?) {
        self.eventLoop = eventLoop
        self.tls = tls
    }

    static func key(_ target: UpstreamURL) -> String { "\(target.scheme)://\(target.host):\(target.port)" }

    /// An idle keep-alive connection to `target`, if there is one (the common case: no future, no allocation).
    func takeIdle(_ target: UpstreamURL) -> UpstreamConnection? {
        let key = Self.key(target)
        while let connection = idle[key]?.popLast() {  // in place, no copy of the list
            if connection.channel.isActive {
                connection.reused = true
                return connection
            }
        }
        return nil
    }

    /// A new connection to `target`.
    func open(_ target: UpstreamURL, connectTimeout: TimeAmount) -> EventLoopFuture<UpstreamConnection> {
        connect(target, key: Self.key(target), timeout: connectTimeout)
    }

    // MARK: - Upstream deadlines

    /// Exchanges waiting for an upstream answer. Checked every 200 ms by one repeating task per loop instead of one
    /// scheduled timer per request. Each exchange knows its slot, so leaving the list is a swap with the last one:
    /// a finished exchange is released at once, not kept until the next sweep.
    private var waiting: [Exchange] = []
    private var sweeping: RepeatedTask?

    func watch(_ exchange: Exchange) {
        guard exchange.watchSlot < 0 else { return }
        exchange.watchSlot = waiting.count
        waiting.append(exchange)
        if sweeping == nil {
            let pool = self
            sweeping = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(200)) { _ in
                pool.sweep()
            }
        }
    }

    func unwatch(_ exchange: Exchange) {
        let slot = exchange.watchSlot
        guard slot >= 0, slot < waiting.count, waiting[slot] === exchange else { return }
        exchange.watchSlot = -1
        let last = waiting.removeLast()
        if slot < waiting.count {
            waiting[slot] = last
            last.watchSlot = slot
        }
    }

    private func sweep() {
        guard !waiting.isEmpty else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        // Collected first: failing an exchange takes it off the list being read.
        let expired = waiting.filter { $0.deadlineNanos > 0 && now >= $0.deadlineNanos }
        for exchange in expired { exchange.deadlinePassed() }
    }

    /// Returns a connection whose last exchange finished cleanly.
    func release(_ connection: UpstreamConnection) {
        connection.exchange = nil
        guard connection.channel.isActive else { return }
        guard (idle[connection.key]?.count ?? 0) < Self.maxIdlePerKey else {
            connection.channel.close(promise: nil)
            return
        }
        // In place: copying the list out and back would allocate on every request.
        idle[connection.key, default: []].append(connection)
    }

    /// Forgets a connection that closed while idle.
    func remove(_ connection: UpstreamConnection) {
        idle[connection.key]?.removeAll { $0 === connection }
    }

    private func connect(_ target: UpstreamURL, key: String, timeout: TimeAmount) -> EventLoopFuture<UpstreamConnection> {
        let tls = target.isTLS ? self.tls : nil
        if target.isTLS && tls == nil {
            return eventLoop.makeFailedFuture(ProxyFailure.tlsUnavailable)
        }
        let pool = self
        let box = NIOLoopBoundBox<UpstreamConnection?>(nil, eventLoop: eventLoop)
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = UpstreamConnection(channel: channel, key: key)
                    box.value = connection
                    if let tls {
                        let handler = try NIOSSLClientHandler(
                            context: tls, serverHostname: IPAddress(target.host) == nil ? target.host : nil)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    // The exchange sets Content-Length or Transfer-Encoding itself (HeaderRules.upstreamHeaders), so
                    // the encoder's own framing pass, which looks the headers up and copies them, is off. No outbound
                    // header validation: every header written was parsed by the HTTP decoder or checked when configured.
                    var encoding = HTTPRequestEncoder.Configuration()
                    encoding.automaticallySetFramingHeaders = false
                    try channel.pipeline.syncOperations.addHandlers([
                        HTTPRequestEncoder(configuration: encoding),
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .fireError)),
                    ])
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(connection: connection, pool: pool))
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMapThrowing { _ in
                guard let connection = box.value else { throw ProxyFailure.connectFailed }
                return connection
            }
    }
}

enum ProxyFailure: Error {
    case tlsUnavailable
    case connectFailed
    case upstreamClosed
}

/// Feeds an upstream connection's response to the exchange it serves.
final class UpstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    // Confined to the connection's event loop.
    typealias InboundIn = HTTPClientResponsePart

    let connection: UpstreamConnection
    let pool: UpstreamPool

    init(connection: UpstreamConnection, pool: UpstreamPool) {
        self.connection = connection
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard let exchange = connection.exchange else {
            // Bytes on an idle connection: the upstream is confused; do not reuse it.
            context.close(promise: nil)
            return
        }
        exchange.upstreamRead(part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection.exchange?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.exchange?.upstreamWritabilityChanged(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange = connection.exchange {
            exchange.upstreamClosed(connection)
        } else {
            pool.remove(connection)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
