import Foundation
import KnoxCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP upstream on loopback for data-plane tests. It records every request it receives and answers by path:
///
/// - `/slow?ms=N` waits N ms before answering
/// - `/close` closes the connection without answering
/// - `/status/N` answers status N
/// - `/big?bytes=N` streams N bytes
/// - `/hop` answers with `Connection: keep-alive, X-Up-Hop`, `X-Up-Hop`, `Keep-Alive` and `X-Stays`
/// - `/chunked?parts=N` answers N parts (`part-0;part-1;…`) without a length, so in chunked coding
/// - `/count` reads the body without keeping it and answers `{"bytes": n}`
/// - anything else echoes `{"method","uri","headers","body"}` as JSON
public final class TestUpstream: Sendable {
    public struct Received: Sendable {
        public let method: String
        public let uri: String
        public let headers: [(String, String)]
        public let body: [UInt8]
        public let connection: ObjectIdentifier

        public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let received = ReceivedLog()
    private let channel: Channel
    public let host: String
    public let port: Int

    /// Listens on `host` (an address: `127.0.0.1` or `::1`), on a free port.
    public init(host: String = "127.0.0.1") throws {
        self.host = host
        let recorder = RecorderBox()
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(UpstreamTestHandler(recorder: recorder))
                }
            }
            .bind(host: host, port: 0).wait()
        channel = server
        port = server.localAddress?.port ?? 0
        let log = received
        recorder.sink = { r in log.append(r) }
    }

    public var url: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }
    public var requests: [Received] { received.all }
    public func reset() { received.clear() }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

final class ReceivedLog: Sendable {
    private let items = Mutex<[TestUpstream.Received]>([])
    func append(_ r: TestUpstream.Received) { items.withLock { $0.append(r) } }
    var all: [TestUpstream.Received] { items.withLock { $0 } }
    func clear() { items.withLock { $0 = [] } }
}

final class RecorderBox: @unchecked Sendable {
    // Set once before the server accepts connections.
    var sink: (@Sendable (TestUpstream.Received) -> Void)?
}

final class UpstreamTestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let recorder: RecorderBox
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    var counted = 0

    init(recorder: RecorderBox) { self.recorder = recorder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            counted = 0
        case .body(let buffer):
            if head?.uri.hasPrefix("/count") == true || head?.uri.contains("/count") == true {
                counted += buffer.readableBytes
            } else {
                body.append(contentsOf: buffer.readableBytesView)
            }
        case .end:
            guard let h = head else { return }
            recorder.sink?(
                TestUpstream.Received(
                    method: h.method.rawValue, uri: h.uri, headers: h.headers.map { ($0.name, $0.value) }, body: body,
                    connection: ObjectIdentifier(context.channel)))
            answer(context, h)
        }
    }

    private func query(_ uri: String, _ name: String) -> Int? {
        guard let q = uri.split(separator: "?").dropFirst().first else { return nil }
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=")
            if kv.count == 2, kv[0] == name { return Int(kv[1]) }
        }
        return nil
    }

    private func answer(_ context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        let path = String(h.uri.split(separator: "?").first ?? "")
        if path.hasSuffix("/close") {
            context.close(promise: nil)
            return
        }
        if path.hasSuffix("/slow") {
            let ms = query(h.uri, "ms") ?? 1000
            let loopBound = NIOLoopBound((self, context, h), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) {
                let (handler, context, h) = loopBound.value
                handler.send(context, h, status: .ok, body: Array(#"{"slow":true}"#.utf8))
            }
            return
        }
        if let range = path.range(of: "/status/"), let code = Int(path[range.upperBound...]) {
            send(context, h, status: HTTPResponseStatus(statusCode: code), body: Array(#"{"status":\#(code)}"#.utf8))
            return
        }
        if path.hasSuffix("/big") {
            let total = query(h.uri, "bytes") ?? 1_000_000
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(total))
            headers.add(name: "Content-Type", value: "application/octet-stream")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .ok, headers: headers))),
                promise: nil)
            var remaining = total
            let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 65536)
            while remaining > 0 {
                let n = min(remaining, chunk.readableBytes)
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(chunk.getSlice(at: 0, length: n) ?? chunk))), promise: nil)
                remaining -= n
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        if path.hasSuffix("/hop") {
            var headers = HTTPHeaders()
            headers.add(name: "Connection", value: "keep-alive, X-Up-Hop")
            headers.add(name: "X-Up-Hop", value: "hop-only")
            headers.add(name: "Keep-Alive", value: "timeout=5")
            headers.add(name: "X-Stays", value: "yes")
            headers.add(name: "Content-Length", value: "2")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .ok, headers: headers))),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        if path.hasSuffix("/chunked") {
            let parts = query(h.uri, "parts") ?? 3
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain")
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .ok, headers: headers))),
                promise: nil)
            for i in 0..<parts {
                context.writeAndFlush(
                    wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "part-\(i);")))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        if path.hasSuffix("/count") {
            send(context, h, status: .ok, body: Array(#"{"bytes":\#(counted)}"#.utf8))
            return
        }
        var headers = JSONObject()
        for (name, value) in h.headers { headers[name] = .string(value) }
        let echo: JSONValue = [
            "method": .string(h.method.rawValue), "uri": .string(h.uri), "headers": .object(headers),
            "body": .string(String(decoding: body, as: UTF8.self)),
        ]
        send(context, h, status: .ok, body: echo.serializedBytes())
    }

    fileprivate func send(
        _ context: ChannelHandlerContext, _ h: HTTPRequestHead, status: HTTPResponseStatus, body: [UInt8]
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "X-Upstream", value: "test")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: status, headers: headers))), promise: nil
        )
        if status.mayHaveResponseBody && h.method != .HEAD {  // 204 and 304 answers have no body
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
