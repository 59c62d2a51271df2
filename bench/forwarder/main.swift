import NIOCore
import NIOHTTP1
import NIOPosix

// The issue's yardstick for the data plane: a bare SwiftNIO HTTP/1.1 forwarder with one keep-alive upstream channel
// per downstream connection, on the same event loop. No routing, no keys, no injection, no log: what SwiftNIO's own
// HTTP codec costs on this machine. `bench/proxy.sh` runs it as an arm next to nginx and KnoxCall.
//
//   bench-forwarder LISTEN_PORT UPSTREAM_PORT [--bytes]      (both on 127.0.0.1; one event loop)
//
// With --bytes it is a plain byte pipe instead (no HTTP codec at all: each downstream connection's bytes go to its own
// upstream connection and back): the floor of what SwiftNIO's channels and the kernel cost per request here, the
// ceiling for any SwiftNIO proxy. `bench/proxy.sh` runs it as arm 6.
#if canImport(Glibc)
    import Glibc
#endif

final class DownstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let upstreamPort: Int
    var upstream: Channel?
    var connecting = false
    var pending: [HTTPClientRequestPart] = []

    init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part: HTTPClientRequestPart
        switch unwrapInboundIn(data) {
        case .head(var head):
            head.headers.replaceOrAdd(name: "Host", value: "127.0.0.1:\(upstreamPort)")
            part = .head(head)
        case .body(let buffer): part = .body(.byteBuffer(buffer))
        case .end(let trailers): part = .end(trailers)
        }
        if let upstream {
            if case .end = part {
                upstream.writeAndFlush(part, promise: nil)
            } else {
                upstream.write(part, promise: nil)
            }
            return
        }
        pending.append(part)
        guard !connecting else { return }
        connecting = true
        let downstream = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(downstream: downstream))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                let handler = loopBound.value
                switch result {
                case .success(let channel):
                    handler.upstream = channel
                    for part in handler.pending { channel.write(part, promise: nil) }
                    handler.pending = []
                    channel.flush()
                case .failure:
                    downstream.close(promise: nil)
                }
            }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }
}

final class UpstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    let downstream: Channel

    init(downstream: Channel) { self.downstream = downstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let answer = HTTPResponseHead(version: head.version, status: head.status, headers: head.headers)
            downstream.write(HTTPServerResponsePart.head(answer), promise: nil)
        case .body(let buffer):
            downstream.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        case .end(let trailers):
            downstream.writeAndFlush(HTTPServerResponsePart.end(trailers), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        downstream.close(promise: nil)
    }
}

/// `--bytes`: the downstream side of the byte pipe. Bytes are written to the upstream as they come.
final class BytePipeDownstream: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let upstreamPort: Int
    var upstream: Channel?
    var pending: [ByteBuffer] = []
    var connecting = false

    init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if let upstream {
            upstream.writeAndFlush(bytes, promise: nil)
            return
        }
        pending.append(bytes)
        guard !connecting else { return }
        connecting = true
        let downstream = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BytePipeUpstream(downstream: downstream))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                let handler = loopBound.value
                switch result {
                case .success(let channel):
                    handler.upstream = channel
                    for bytes in handler.pending { channel.write(bytes, promise: nil) }
                    handler.pending = []
                    channel.flush()
                case .failure:
                    downstream.close(promise: nil)
                }
            }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }
}

/// `--bytes`: the upstream side of the byte pipe.
final class BytePipeUpstream: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let downstream: Channel

    init(downstream: Channel) { self.downstream = downstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        downstream.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        downstream.close(promise: nil)
    }
}

let arguments = CommandLine.arguments
let bytePipe = arguments.count == 4 && arguments[3] == "--bytes"
guard arguments.count == 3 || bytePipe, let listenPort = Int(arguments[1]), let upstreamPort = Int(arguments[2]) else {
    print("usage: bench-forwarder LISTEN_PORT UPSTREAM_PORT [--bytes]")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            if bytePipe {
                try channel.pipeline.syncOperations.addHandler(BytePipeDownstream(upstreamPort: upstreamPort))
                return
            }
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(DownstreamHandler(upstreamPort: upstreamPort))
        }
    }
    .bind(host: "127.0.0.1", port: listenPort).wait()
// Straight to fd 1, unbuffered: bench/proxy.sh waits for this line.
let ready = "forwarding 127.0.0.1:\(listenPort) -> 127.0.0.1:\(upstreamPort)\(bytePipe ? " (bytes)" : "")\n"
_ = ready.withCString { write(1, $0, strlen($0)) }
try server.closeFuture.wait()
