import KnoxCore
import KnoxDataPlane
import NIOCore
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
    /// The upstream's answers, decoded from the connection's bytes.
    var decoder = ResponseDecoder()
    /// The `UpstreamHandler`'s context while it is in the pipeline (nil before and after: no cycle outlives the
    /// channel). Writes and flushes start there.
    var context: ChannelHandlerContext?

    init(channel: Channel, key: String) {
        self.channel = channel
        self.key = key
    }

    /// Queues `bytes` for the upstream, from the handler's context down to the socket.
    func write(_ bytes: ByteBuffer) {
        if let context {
            context.write(NIOAny(bytes), promise: nil)
        } else {
            channel.write(bytes, promise: nil)
        }
    }

    /// Flushes what was written, at the end of the loop's turn (see `FlushBatch`).
    func flushSoon(_ batch: FlushBatch) {
        if let context {
            batch.flushSoon(context)
        } else {
            channel.flush()
        }
    }
}

/// Idle upstream connections of one event loop, by scheme/host/port. Only its loop touches it: no lock.
final class UpstreamPool: @unchecked Sendable {
    // Confined to `eventLoop`.
    let eventLoop: EventLoop
    let tls: NIOSSLContext?
    /// The loop's gathered flushes.
    let flushes: FlushBatch
    /// The loop's downstream connections, whose head, idle and body deadlines the sweep checks.
    let connections = ConnectionWatch()
    /// This process's listeners: a new upstream connection that reached one of them is refused (a loop).
    let ownListeners: OwnListeners?
    /// Idle connections by pool key. A class per key, so taking and returning a connection changes the list in place
    /// (mutating an array inside the dictionary went through the dictionary's modify accessor, which allocated).
    private var idle: [String: IdleList] = [:]

    final class IdleList {
        var connections: [UpstreamConnection] = []
    }
    static let maxIdlePerKey = 64

    init(eventLoop: EventLoop, tls: NIOSSLContext?, ownListeners: OwnListeners? = nil) {
        self.eventLoop = eventLoop
        self.tls = tls
        self.ownListeners = ownListeners
        flushes = FlushBatch(eventLoop: eventLoop)
    }

    /// The list last looked up, and its key: most requests on a loop go to the upstream the previous one went to,
    /// under the very same key string (the plan's), which compares equal without reading its bytes or hashing it.
    private var lastKey = ""
    private var lastList: IdleList?

    private func list(_ key: String) -> IdleList? {
        if let lastList, key == lastKey { return lastList }
        guard let found = idle[key] else { return nil }
        lastKey = key
        lastList = found
        return found
    }

    /// An idle keep-alive connection for `key` (a plan's `poolKey`), if there is one (the common case: no future, no
    /// allocation).
    func takeIdle(_ key: String) -> UpstreamConnection? {
        guard let list = list(key) else { return nil }
        while let connection = list.connections.popLast() {
            if connection.channel.isActive {
                connection.reused = true
                return connection
            }
        }
        return nil
    }

    /// A new connection to `target`, pooled under `key`.
    func open(_ target: UpstreamURL, key: String, connectTimeout: TimeAmount) -> EventLoopFuture<UpstreamConnection> {
        connect(target, key: key, timeout: connectTimeout)
    }

    // MARK: - Deadlines

    /// Exchanges waiting for an upstream answer. Checked every 200 ms by one repeating task per loop instead of one
    /// scheduled timer per request, with the loop's downstream connections (`connections`). Each exchange knows its
    /// slot, so leaving the list is a swap with the last one: a finished exchange is released at once, not kept until
    /// the next sweep.
    private var waiting = SlotList<Exchange>()
    private var sweeping: RepeatedTask?
    /// Monotonic nanoseconds at the last sweep (at most 200 ms old while any connection is open): the phases of
    /// downstream connections are stamped with it, so a request costs no clock reading for its timeouts.
    private(set) var clock: UInt64 = 0

    func watch(_ exchange: Exchange) {
        waiting.add(exchange)
        startSweeping()
    }

    /// A new downstream connection on this loop.
    func watch(_ handler: ProxyHandler) {
        connections.add(handler)
        startSweeping()
    }

    private func startSweeping() {
        guard sweeping == nil else { return }
        clock = NIODeadline.now().uptimeNanoseconds
        let pool = self
        sweeping = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(200)) { _ in
            pool.sweep()
        }
    }

    func unwatch(_ exchange: Exchange) { waiting.remove(exchange) }

    private func sweep() {
        let now = NIODeadline.now().uptimeNanoseconds
        clock = now
        connections.sweep(now: now)
        guard !waiting.isEmpty else { return }
        // Collected first: failing an exchange takes it off the list being read.
        let expired = waiting.members.filter { $0.deadlineNanos > 0 && now >= $0.deadlineNanos }
        for exchange in expired { exchange.deadlinePassed() }
    }

    /// Returns a connection whose last exchange finished cleanly.
    func release(_ connection: UpstreamConnection) {
        connection.exchange = nil
        guard connection.channel.isActive else { return }
        let list: IdleList
        if let existing = self.list(connection.key) {
            list = existing
        } else {
            list = IdleList()
            idle[connection.key] = list
        }
        guard list.connections.count < Self.maxIdlePerKey else {
            connection.channel.close(promise: nil)
            return
        }
        // In place: copying the list out and back would allocate on every request.
        list.connections.append(connection)
    }

    /// Forgets a connection that closed while idle.
    func remove(_ connection: UpstreamConnection) {
        list(connection.key)?.connections.removeAll { $0 === connection }
    }

    private func connect(_ target: UpstreamURL, key: String, timeout: TimeAmount) -> EventLoopFuture<UpstreamConnection>
    {
        let tls = target.isTLS ? self.tls : nil
        if target.isTLS && tls == nil {
            return eventLoop.makeFailedFuture(ProxyFailure.tlsUnavailable)
        }
        let pool = self
        let box = NIOLoopBoundBox<UpstreamConnection?>(nil, eventLoop: eventLoop)
        let bootstrap = ClientBootstrap(group: eventLoop)
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
                    // No HTTP codec handlers: the exchange writes the request as bytes (HeaderRules.writeUpstreamHead)
                    // and the connection's ResponseDecoder reads the answers.
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(connection: connection, pool: pool))
                }
            }
        // An address is connected to as it is. A name goes through NIO's resolver and Happy Eyeballs, which
        // resolve on a Dispatch thread: a hop to another thread on the event loop's core for every new connection,
        // and upstreams close keep-alive connections routinely (nginx after 1,000 requests by default).
        let connecting: EventLoopFuture<Channel>
        if let address = Self.socketAddress(host: target.host, port: target.port) {
            connecting = bootstrap.connect(to: address)
        } else {
            connecting = bootstrap.connect(host: target.host, port: target.port)
        }
        let ownListeners = ownListeners
        return
            connecting
            .flatMapThrowing { channel in
                guard let connection = box.value else { throw ProxyFailure.connectFailed }
                // A name (or a listener bound after the route was saved) that leads back into this gateway.
                if let ownListeners, let remote = channel.remoteAddress, let port = remote.port,
                    let ip = remote.ipAddress.flatMap(IPAddress.init),
                    let own = ownListeners.listener(reachedBy: ip, port: port)
                {
                    channel.close(promise: nil)
                    throw ProxyFailure.ownListener(own.description)
                }
                return connection
            }
    }
}

extension UpstreamPool {
    /// The socket address of an upstream whose host is an IPv4 or IPv6 address; nil for a name.
    static func socketAddress(host: String, port: Int) -> SocketAddress? {
        guard IPAddress(host) != nil else { return nil }
        return try? SocketAddress(ipAddress: host, port: port)
    }
}

enum ProxyFailure: Error {
    case tlsUnavailable
    case connectFailed
    case upstreamClosed
    /// The upstream connection reached one of this gateway's own listeners.
    case ownListener(String)
}

/// Decodes an upstream connection's bytes and feeds the answer to the exchange it serves.
final class UpstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    // Confined to the connection's event loop.
    typealias InboundIn = ByteBuffer

    let connection: UpstreamConnection
    let pool: UpstreamPool

    init(connection: UpstreamConnection, pool: UpstreamPool) {
        self.connection = connection
        self.pool = pool
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connection.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.decoder.feed(unwrapInboundIn(data))
        while true {
            let event: ResponseDecoder.Event?
            do {
                event = try connection.decoder.next()
            } catch {
                // A malformed answer, or bytes on an idle connection: the upstream is confused; never reuse it. The
                // exchange is told why before the connection closes.
                connection.exchange?.upstreamMalformed(error.message)
                context.close(promise: nil)
                return
            }
            guard let event else { return }
            guard let exchange = connection.exchange else {
                context.close(promise: nil)
                return
            }
            switch event {
            case .head(let head):
                exchange.upstreamHead(head)
                // Written out: its field list serves the connection's next answer once this binding ends.
                connection.decoder.recycle(head.fields.spans)
            case .body(let buffer): exchange.upstreamBody(buffer)
            case .end(let reusable): exchange.upstreamEnd(reusable: reusable)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection.exchange?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.exchange?.upstreamWritabilityChanged(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange = connection.exchange {
            // A body delimited by the connection's end is complete now; anything else is cut short.
            if case .end? = connection.decoder.closed() {
                exchange.upstreamEnd(reusable: false)
            } else {
                exchange.upstreamClosed(connection)
            }
        } else {
            pool.remove(connection)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
