import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A plain HTTP proxy on loopback that sends every request it receives on to `targetPort`, with its headers plus
/// `extra` (as an nginx with `proxy_set_header` would), and answers with what came back. Used to build a loop
/// through a proxy that is not KnoxCall.
public final class TestForwarder: Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Channel
    private let count: Count
    public let port: Int

    public init(targetPort: Int, extra: [String: String]) throws {
        let count = Count()
        self.count = count
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        ForwardingHandler(targetPort: targetPort, extra: extra, count: count))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        channel = server
        port = server.localAddress?.port ?? 0
    }

    /// How many requests it has forwarded.
    public var forwarded: Int { count.value.load(ordering: .relaxed) }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// How many requests a forwarder has sent on.
private final class Count: Sendable {
    let value = Atomic<Int>(0)
}

private final class ForwardingHandler: ChannelInboundHandler, @unchecked Sendable {
    // Confined to its channel's event loop; the forwarding itself runs on a thread of its own.
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let targetPort: Int
    let extra: [String: String]
    let count: Count
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(targetPort: Int, extra: [String: String], count: Count) {
        self.targetPort = targetPort
        self.extra = extra
        self.count = count
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let h = head else { return }
            count.value.add(1, ordering: .relaxed)
            var headers: [String: String] = [:]
            for (name, value) in h.headers where !["host", "content-length", "connection"].contains(name.lowercased()) {
                headers[name] = headers[name].map { "\($0), \(value)" } ?? value
            }
            for (name, value) in extra { headers[name] = value }
            let (port, method, uri, body, sent) = (targetPort, h.method.rawValue, h.uri, body, headers)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            Thread {
                let answer = try? RawHTTP.request(
                    port: port, method: method, path: uri, headers: sent,
                    body: body.isEmpty ? nil : String(decoding: body, as: UTF8.self))
                loop.execute {
                    let (handler, context) = bound.value
                    handler.respond(context, answer)
                }
            }.start()
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ answer: RawHTTP.Response?) {
        let status = answer?.status ?? 502
        let body = answer?.body ?? Array("forwarder: no answer".utf8)
        var headers = HTTPHeaders()
        for (name, value) in answer?.headers ?? []
        where !["content-length", "transfer-encoding", "connection"].contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        context.write(
            wrapOutboundOut(
                .head(
                    HTTPResponseHead(
                        version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
