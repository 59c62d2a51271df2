import Foundation
import KnoxAPI
import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxProxy
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Listener flags shared by `serve` and `console`.
struct ListenOptions: ParsableArgumentsShim {
    var liveAPI: String?
    var testAPI: String?
    var liveProxy: String?
    var testProxy: String?

    func apply(_ config: inout KnoxConfig) {
        if let liveAPI, let a = ListenAddress(liveAPI) { config.liveAPI = a }
        if let testAPI, let a = ListenAddress(testAPI) { config.testAPI = a }
        if let liveProxy, let a = ListenAddress(liveProxy) { config.liveProxy = a }
        if let testProxy, let a = ListenAddress(testProxy) { config.testProxy = a }
    }

    func validate() throws -> String? {
        for (flag, value) in [
            ("--live-api", liveAPI), ("--test-api", testAPI), ("--live-proxy", liveProxy), ("--test-proxy", testProxy),
        ] {
            if let value, ListenAddress(value) == nil {
                return "\(flag) must be host:port such as 127.0.0.1:8700 (got \"\(value)\")"
            }
        }
        return nil
    }
}

protocol ParsableArgumentsShim {}

/// The engine and its listeners, ready to run as one service group (what `serve` and `console` share).
struct Host {
    let boot: Bootstrap
    var services: [any Service]
    /// Bound addresses, per mode (nil when not listening).
    var apiAddress: [Mode: String] = [:]
    var proxyAddress: [Mode: String] = [:]

    /// Opens both engines, binds every listener (each failure names the listener and exits), and prepares the
    /// services. With `listen: false` only the engines and their maintenance run.
    static func start(directory: DataDirectory, listen: ListenOptions, listening: Bool, logger: Logger) async throws
        -> Host
    {
        let boot = try Bootstrap.open(directory, modes: Mode.allCases, overrides: { listen.apply(&$0) }, logger: logger)
        let engines = Mode.allCases.map(boot.engine)
        var host = Host(
            boot: boot,
            services: [
                EngineMaintenance(engines: engines, logger: logger), RequestLogWriter(engines: engines, logger: logger),
            ])
        guard listening else { return host }
        var apis: [HTTPListener] = []
        var proxies: [ProxyServer] = []
        for mode in Mode.allCases {
            let engine = boot.engine(mode)
            let api = ManagementAPI(engine: engine, logger: logger)
            let address = boot.config.apiAddress(mode)
            let listener = HTTPListener(
                address: address, name: "\(mode.rawValue)-api", limits: boot.config.managementLimits,
                stats: engine.connectionStats, logger: logger
            ) { await api.handle($0) }
            do {
                let port = try await listener.bind()
                let bound = listener.boundAddress ?? ListenAddress(host: address.host, port: port)
                engine.ownListeners.register(bound, api: mode)
                host.apiAddress[mode] = bound.description
            } catch {
                throw Failure("cannot listen on \(address) (\(mode.displayName) management API): \(error)")
            }
            apis.append(listener)
        }
        // The data plane has its own event loop threads, one per CPU this process may use.
        let dataPlaneGroup = MultiThreadedEventLoopGroup(numberOfThreads: AvailableCores.count)
        for mode in Mode.allCases {
            let address = boot.config.proxyAddress(mode)
            let proxy = try ProxyServer(
                port: boot.engine(mode), address: address, group: dataPlaneGroup, logger: logger)
            do {
                let port = try await proxy.bind()
                host.proxyAddress[mode] = ListenAddress(host: address.host, port: port).description
            } catch {
                throw Failure("cannot listen on \(address) (\(mode.displayName) data plane): \(error)")
            }
            proxies.append(proxy)
        }
        host.services.append(Listeners(apis: apis, proxies: proxies, logger: logger))
        return host
    }
}

/// Every listener of the process as one service: a graceful shutdown stops them all accepting at once, then the
/// requests in flight finish (management requests, and data-plane exchanges within `shutdown_grace_sec`); the log
/// writer, an earlier service of the group, stops only after that, with every row.
struct Listeners: Service {
    let apis: [HTTPListener]
    let proxies: [ProxyServer]
    let logger: Logger

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for api in apis { group.addTask { try await api.serve() } }
                for proxy in proxies {
                    group.addTask {
                        do {
                            try await proxy.run()
                        } catch {
                            await proxy.drain()
                            throw error
                        }
                        await proxy.drain()
                    }
                }
                // A listener that fails stops them all (and the process, with the error), rather than leaving the
                // process running without it.
                do {
                    while try await group.next() != nil {}
                } catch {
                    logger.critical("a listener failed; stopping", metadata: ["error.type": "\(type(of: error))"])
                    stopAccepting()
                    throw error
                }
            }
        } onGracefulShutdown: {
            stopAccepting()
        }
    }

    private func stopAccepting() {
        for proxy in proxies { proxy.close() }
        for api in apis { api.close() }
    }
}
