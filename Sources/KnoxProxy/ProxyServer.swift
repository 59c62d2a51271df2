import KnoxCore
import KnoxDataPlane
import KnoxNet
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One mode's data plane listener. Requests are handled start to finish on the event loop that accepted them.
public final class ProxyServer: Sendable {
    public let address: ListenAddress
    let services: ProxyServices
    let group: EventLoopGroup
    let logger: Logger
    private let channel = Mutex<Channel?>(nil)
    /// Connections open on this listener (counted on every loop that accepts them) and its cap.
    private let admission: ConnectionAdmission

    /// `group` is the data plane's own event loop group (shared by both modes' proxies).
    public init(
        port: any DataPlanePort, address: ListenAddress, group: MultiThreadedEventLoopGroup, logger: Logger,
        monotonic: any MonotonicClock = SystemMonotonicClock()
    ) throws {
        self.address = address
        self.group = group
        self.logger = logger
        // System trust store; a failure here (no CA bundle) only disables https upstreams, with a clear 502.
        let tls = try? NIOSSLContext(configuration: TLSConfiguration.makeClientConfiguration())
        var loops: [EventLoop] = []
        var iterator = group.makeIterator()
        while let loop = iterator.next() { loops.append(loop) }
        services = ProxyServices(port: port, loops: loops, tls: tls, monotonic: monotonic)
        admission = ConnectionAdmission(cap: port.config.dataPlaneLimits.connectionCap, stats: port.connectionStats)
    }

    /// Connections open on this listener now.
    var openConnections: Int { admission.count }

    /// The port actually bound.
    public var port: Int? { channel.withLock { $0?.localAddress?.port } }

    @discardableResult
    public func bind() async throws -> Int {
        if let port { return port }
        let services = services
        let admission = admission
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard try admission.admit(channel) else { return }
                    // One handler, on bytes: ProxyHandler decodes requests itself (RequestDecoder) and writes its answers
                    // as bytes (ResponseWriter), copying header fields once from the received heads. NIO's HTTP codec
                    // would turn every head into a header list of strings and every part into a boxed message; on this
                    // path that cost more than everything else the proxy does. Pipelined requests are answered in order
                    // by ProxyHandler itself.
                    try channel.pipeline.syncOperations.addHandler(
                        ProxyHandler(services: services, pool: services.pool(for: channel.eventLoop)))
                }
            }
            .bind(host: address.host, port: address.port).get()
        channel.withLock { $0 = server }
        let port = server.localAddress?.port ?? address.port
        let bound = server.localAddress?.listenAddress(configured: address) ?? address
        services.port.ownListeners.register(bound)
        logger.info(
            "listening",
            metadata: [
                "listener": "\(services.port.mode.rawValue)-proxy", "address": "\(address.host):\(port)",
                "connections.max": "\(admission.cap)",
            ])
        return port
    }

    /// Serves until `close()`.
    public func run() async throws {
        try await bind()
        guard let server = channel.withLock({ $0 }) else { return }
        try await server.closeFuture.get()
    }

    public func close() {
        channel.withLock { $0 }?.close(promise: nil)
    }

    /// Stops accepting and lets the requests in flight finish: idle connections close at once, busy ones after their
    /// answer; past `[data_plane] shutdown_grace_sec` the rest are closed. Returns when none is left.
    public func drain() async {
        services.stopping.store(true, ordering: .relaxed)
        close()
        services.forEachPool { $0.connections.shutDown() }
        let grace = services.port.config.dataPlaneLimits.shutdownGraceSec
        let deadline = ContinuousClock.now + .milliseconds(Int64(grace * 1000))
        while admission.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if admission.count > 0 {
            logger.warning(
                "closing connections still busy after the shutdown grace period",
                metadata: ["listener": "\(services.port.mode.rawValue)-proxy", "connections": "\(admission.count)"])
            services.forEachPool { $0.connections.closeAll() }
            // Until they are gone, so that their rows reach the log writer before its last flush.
            let closing = ContinuousClock.now + .seconds(1)
            while admission.count > 0 && ContinuousClock.now < closing { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }
}
