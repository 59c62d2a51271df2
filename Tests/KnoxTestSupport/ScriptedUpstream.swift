import NIOCore
import NIOPosix
import Synchronization

/// An upstream on loopback that answers whatever it receives with fixed bytes (well-formed or not), for the cases a
/// real HTTP server would never produce.
public final class ScriptedUpstream: Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Channel
    private let tally: ConnectionTally
    public let port: Int

    /// `reads: false`: the upstream accepts connections and never reads from them (nor answers). `thenClose`: it
    /// closes the connection once the answer is written.
    public init(answer: String, reads: Bool = true, thenClose: Bool = false) throws {
        let bytes = Array(answer.utf8)
        let tally = ConnectionTally()
        self.tally = tally
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: reads)
            .childChannelOption(.socketOption(.so_rcvbuf), value: reads ? 65536 : 4096)
            .childChannelInitializer { channel in
                tally.countOpened()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Answering(bytes: bytes, thenClose: thenClose, tally: tally))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress?.port ?? 0
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Connections accepted so far (each new upstream connection the gateway opened).
    public var connectionsAccepted: Int { tally.opened }
    /// Connections that have ended so far (here only the gateway closes them, unless `thenClose`).
    public var connectionsClosed: Int { tally.closed }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Connections a scripted upstream accepted and saw end, for tests of connection reuse.
final class ConnectionTally: Sendable {
    private let counts = Mutex((opened: 0, closed: 0))

    func countOpened() { counts.withLock { $0.opened += 1 } }
    func countClosed() { counts.withLock { $0.closed += 1 } }
    var opened: Int { counts.withLock { $0.opened } }
    var closed: Int { counts.withLock { $0.closed } }
}

private final class Answering: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let bytes: [UInt8]
    let thenClose: Bool
    let tally: ConnectionTally

    init(bytes: [UInt8], thenClose: Bool, tally: ConnectionTally) {
        self.bytes = bytes
        self.thenClose = thenClose
        self.tally = tally
    }

    func channelInactive(context: ChannelHandlerContext) {
        tally.countClosed()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !bytes.isEmpty else { return }
        let written = context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)))
        if thenClose { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}
