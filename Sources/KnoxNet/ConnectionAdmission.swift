import Atomics
import KnoxDataPlane
import NIOCore

/// A listener's open connections and its cap (`max_connections`), shared by the data plane's and the management API's
/// listeners: each accepted channel is counted until it closes; one past the cap is answered `503
/// too_many_connections` (`OverCapHandler`) and counted in the mode's `ConnectionStats`.
public final class ConnectionAdmission: Sendable {
    private let open = ManagedAtomic<Int>(0)
    public let cap: Int
    private let stats: ConnectionStats?

    public init(cap: Int, stats: ConnectionStats?) {
        self.cap = cap
        self.stats = stats
    }

    /// Connections open now.
    public var count: Int { open.load(ordering: .relaxed) }

    /// Counts `channel` until it closes. Returns false, with the refusal installed in its pipeline, when the listener
    /// already holds its cap: the caller then adds nothing else. On the channel's event loop (a child initializer).
    public func admit(_ channel: Channel) throws -> Bool {
        let count = open.wrappingIncrementThenLoad(ordering: .relaxed)
        let open = open
        channel.closeFuture.whenComplete { _ in open.wrappingDecrement(ordering: .relaxed) }
        guard count <= cap else {
            stats?.count(.cap)
            try channel.pipeline.syncOperations.addHandler(OverCapHandler())
            return false
        }
        return true
    }
}

/// First in the pipeline of a connection past the listener's cap: answers 503 as bytes before reading anything,
/// reads and drops what the caller sends (closing with unread bytes would reset the connection and could destroy the
/// answer), and closes within a second.
final class OverCapHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: ListenerLimits.overCapAnswer))).assumeIsolated()
            .whenComplete { _ in context.close(mode: .output, promise: nil) }
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

extension SocketAddress {
    /// The address a listener bound, as its own listener list records it: the IP it actually holds (a name in the
    /// configuration resolves to one), with `configured` as the fallback.
    public func listenAddress(configured: ListenAddress) -> ListenAddress {
        ListenAddress(host: ipAddress ?? configured.host, port: port ?? configured.port)
    }
}
