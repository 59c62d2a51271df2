import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxNet
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// An HTTP/1.1 listener that reads each request whole (up to 1 MiB) and hands it to an async handler.
///
/// Used by the management API; one connection is one task, and pipelined requests are answered in order.
public final class HTTPListener: Sendable {
    public typealias Handler = @Sendable (APIRequest) async -> APIResponse

    public let address: ListenAddress
    let name: String
    let handler: Handler
    let logger: Logger
    let maxBodyBytes: Int
    /// Head, idle and body-stall timeouts and the connection cap (`[management]`).
    let limits: ListenerLimits
    /// Where closings and refusals are counted (the mode's engine).
    let stats: ConnectionStats?
    private let admission: ConnectionAdmission
    private let channel = Mutex<
        NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>?
    >(nil)
    private let boundPort = Mutex<Int?>(nil)
    private let connections = ConnectionRegistry()

    public init(
        address: ListenAddress, name: String, maxBodyBytes: Int = ManagementAPI.maxBodyBytes,
        limits: ListenerLimits = KnoxConfig().managementLimits, stats: ConnectionStats? = nil, logger: Logger,
        handler: @escaping Handler
    ) {
        self.address = address
        self.name = name
        self.handler = handler
        self.logger = logger
        self.maxBodyBytes = maxBodyBytes
        self.limits = limits
        self.stats = stats
        admission = ConnectionAdmission(cap: limits.connectionCap, stats: stats)
    }

    /// The port actually bound (differs from `address.port` when that is 0).
    public var port: Int? { boundPort.withLock { $0 } }

    /// The address actually bound: its IP (a name in the configuration resolves to one) and port.
    public var boundAddress: ListenAddress? {
        channel.withLock { $0 }?.channel.localAddress?.listenAddress(configured: address)
    }

    /// Binds the socket; returns the bound port.
    @discardableResult
    public func bind() async throws -> Int {
        if let port { return port }
        let (limits, stats, admission) = (limits, stats, admission)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let timer = ConnectionTimer(limits: limits, stats: stats)
                    // Past the cap a 503 goes out as bytes in front of the codec, which then sees nothing.
                    if try admission.admit(channel) {
                        try channel.pipeline.syncOperations.addHandler(ConnectionTimerBytes(timer))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: false, withEncoderConfiguration: .init(),
                        withDecoderLimitConfiguration: Self.decoderLimits)
                    try channel.pipeline.syncOperations.addHandler(ProtocolErrorAnswers())
                    try channel.pipeline.syncOperations.addHandler(ConnectionTimerMessages(timer))
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? address.port
        channel.withLock { $0 = server }
        boundPort.withLock { $0 = port }
        logger.info(
            "listening",
            metadata: [
                "listener": "\(name)", "address": "\(address.host):\(port)", "connections.max": "\(admission.cap)",
            ])
        return port
    }

    /// Accepts connections until the socket is closed.
    public func serve() async throws {
        try await bind()
        guard let server = channel.withLock({ $0 }) else { return }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.serveConnection(connection) }
                }
            }
        }
    }

    /// Stops accepting connections, closes idle ones, and lets each busy one finish its current request (its answer
    /// then carries `Connection: close`).
    public func close() {
        channel.withLock { $0 }?.channel.close(promise: nil)
        connections.shutDown()
        // Past the grace period (`[management] shutdown_grace_sec`) whatever is still busy is closed.
        let (connections, grace, logger, name) = (connections, limits.shutdownGraceSec, logger, name)
        Task {
            try? await Task.sleep(for: .milliseconds(Int64(grace * 1000)))
            let busy = connections.closeAll()
            if busy > 0 {
                logger.warning(
                    "closing connections still busy after the shutdown grace period",
                    metadata: ["listener": "\(name)", "connections": "\(busy)"])
            }
        }
    }

    private func serveConnection(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        let remote = connection.channel.remoteAddress?.ipAddress
        let id = ObjectIdentifier(connection.channel)
        guard connections.register(id, connection.channel) else {
            try? await connection.channel.close()
            return
        }
        defer { connections.remove(id) }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                // After a 413 the rest of the body is read and dropped (up to a bound) before closing: closing with
                // unread data would reset the connection and could destroy the 413 before the client reads it.
                var discarded: Int?
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body = []
                        // Busy from its head: a shutdown lets a request whose body is still arriving finish.
                        connections.setBusy(id, true)
                        if let problem = Self.headProblem(h) {
                            // Refused before anything else; the body, if any, is drained before the close.
                            try await write(
                                Envelope.failure(problem, requestId: Identifier.requestID(), headers: []),
                                version: h.version, keepAlive: false, to: outbound)
                            discarded = 0
                            continue
                        }
                        if let length = h.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes
                        {
                            try await write(Envelope.tooLarge(), version: h.version, keepAlive: false, to: outbound)
                            discarded = 0
                        }
                    case .body(let buffer):
                        if let d = discarded {
                            discarded = d + buffer.readableBytes
                            if d + buffer.readableBytes > Self.drainLimit { return }
                            continue
                        }
                        guard body.count + buffer.readableBytes <= maxBodyBytes else {
                            try await write(
                                Envelope.tooLarge(), version: head?.version ?? .http1_1, keepAlive: false, to: outbound)
                            discarded = 0
                            body = []
                            continue
                        }
                        body.append(contentsOf: buffer.readableBytesView)
                    case .end:
                        if discarded != nil { return }
                        guard let h = head else { continue }
                        let (path, query) = APIRequest.split(target: h.uri)
                        let request = APIRequest(
                            method: h.method.rawValue, path: path, rawQuery: query,
                            headers: h.headers.map { ($0.name, $0.value) }, body: body, remoteAddress: remote)
                        var response = await handler(request)
                        if h.method == .HEAD { response.body = [] }
                        let keepAlive = h.isKeepAlive && !response.closeConnection && !connections.isShuttingDown
                        try await write(response, version: h.version, keepAlive: keepAlive, to: outbound)
                        if !keepAlive { return }
                        // Idle again: a shutdown from now on closes this connection at once.
                        guard connections.setBusy(id, false) else { return }
                        head = nil
                        body = []
                    }
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["listener": "\(name)", "error.type": "\(type(of: error))"])
        }
    }

    /// The data plane's head limits (64 KiB, 256 fields): past them, `431` (`ProtocolErrorAnswers`).
    static let decoderLimits: NIOHTTPDecoderLimitConfiguration = {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 64 * 1024
        limits.maxHeaderListSize = 64 * 1024
        limits.maxHeaderFieldCount = 256
        return limits
    }()

    /// RFC 9112 §3.2: at most one `Host`, exactly one in HTTP/1.1, and a host[:port] value; and a target of at most
    /// 8 KiB (else `414 uri_too_long`, as on the data plane).
    static func headProblem(_ head: HTTPRequestHead) -> ApiError? {
        if head.uri.utf8.count > 8 * 1024 {
            return ApiError(.uriTooLong, "The request target is longer than 8 KiB")
        }
        return hostProblem(head).map { ApiError(.validationError, "Malformed HTTP request: \($0)", field: "Host") }
    }

    static func hostProblem(_ head: HTTPRequestHead) -> String? {
        let hosts = head.headers["host"]
        if hosts.count > 1 { return "More than one Host header" }
        guard let host = hosts.first else {
            return head.version.minor >= 1 ? "An HTTP/1.1 request needs a Host header" : nil
        }
        return HostField.isValid(host.utf8) ? nil : "The Host header is not a host[:port]"
    }

    /// How much of an oversized body is read and dropped after the 413 before the connection is closed anyway.
    static let drainLimit = 8 << 20

    private func write(
        _ response: APIResponse, version: HTTPVersion, keepAlive: Bool,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(
            version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        try await outbound.write(.head(head))
        if !response.body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body)))) }
        try await outbound.write(.end(nil))
    }
}

/// The open connections of a listener, so that a shutdown can close the idle ones and let busy ones finish.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: (channel: any Channel, busy: Bool)] = [:]
        var shuttingDown = false
    }

    private let state = Mutex(State())

    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// Registers a new connection; false when the listener is already shutting down.
    func register(_ id: ObjectIdentifier, _ channel: any Channel) -> Bool {
        state.withLock { s in
            guard !s.shuttingDown else { return false }
            s.channels[id] = (channel, false)
            return true
        }
    }

    func remove(_ id: ObjectIdentifier) {
        _ = state.withLock { $0.channels.removeValue(forKey: id) }
    }

    /// Marks a connection busy or idle; returns false when it should close instead (shutdown, going idle).
    @discardableResult
    func setBusy(_ id: ObjectIdentifier, _ busy: Bool) -> Bool {
        state.withLock { s in
            s.channels[id]?.busy = busy
            return !(s.shuttingDown && !busy)
        }
    }

    func shutDown() {
        let idle: [any Channel] = state.withLock { s in
            s.shuttingDown = true
            return s.channels.values.filter { !$0.busy }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    /// Closes every connection, busy or not (the shutdown grace period is over); returns how many were still open.
    @discardableResult
    func closeAll() -> Int {
        let open = state.withLock { $0.channels.values.map(\.channel) }
        for channel in open { channel.close(promise: nil) }
        return open.count
    }
}
