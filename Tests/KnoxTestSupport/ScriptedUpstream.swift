import NIOCore
import NIOPosix

/// An upstream on loopback that answers whatever it receives with fixed bytes (well-formed or not), for the cases a
/// real HTTP server would never produce.
public final class ScriptedUpstream: Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Channel
    public let port: Int

    /// `reads: false`: the upstream accepts connections and never reads from them (nor answers). `thenClose`: it
    /// closes the connection once the answer is written.
    public init(answer: String, reads: Bool = true, thenClose: Bool = false) throws {
        let bytes = Array(answer.utf8)
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: reads)
            .childChannelOption(.socketOption(.so_rcvbuf), value: reads ? 65536 : 4096)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Answering(bytes: bytes, thenClose: thenClose))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress?.port ?? 0
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private final class Answering: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let bytes: [UInt8]
    let thenClose: Bool

    init(bytes: [UInt8], thenClose: Bool) {
        self.bytes = bytes
        self.thenClose = thenClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !bytes.isEmpty else { return }
        let written = context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)))
        if thenClose { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}
