import ArgumentParser
import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxProxy
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `knoxcall serve`: the engine without the console.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the engine headless: the management API of both modes (and their data planes).")

    @OptionGroup var data: DataOptions

    @Option(help: "Live management API address (default 127.0.0.1:8700).")
    var liveAPI: String?
    @Option(help: "Test management API address (default 127.0.0.1:8701).")
    var testAPI: String?
    @Option(help: "Live data plane address (default 127.0.0.1:8800).")
    var liveProxy: String?
    @Option(help: "Test data plane address (default 127.0.0.1:8801).")
    var testProxy: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        for (flag, value) in [("--live-api", liveAPI), ("--test-api", testAPI), ("--live-proxy", liveProxy), ("--test-proxy", testProxy)] {
            if let value, ListenAddress(value) == nil {
                throw ValidationError("\(flag) must be host:port such as 127.0.0.1:8700 (got \"\(value)\")")
            }
        }
    }

    func run() async throws {
        let logger = Logging.make(label: "knoxcall", level: Logger.Level(rawValue: logLevel) ?? .info)
        let boot = try Bootstrap.open(try data.directory(), modes: Mode.allCases, overrides: applyFlags, logger: logger)
        let engines = Mode.allCases.map(boot.engine)
        var services: [any Service] = [
            EngineMaintenance(engines: engines, logger: logger), RequestLogWriter(engines: engines, logger: logger),
        ]
        // The data plane has its own event loop threads, apart from the management API's.
        let dataPlaneGroup = MultiThreadedEventLoopGroup(numberOfThreads: AvailableCores.count)
        for mode in Mode.allCases {
            let api = ManagementAPI(engine: boot.engine(mode), logger: logger)
            let address = boot.config.apiAddress(mode)
            let listener = HTTPListener(address: address, name: "\(mode.rawValue)-api", logger: logger) { await api.handle($0) }
            do {
                let port = try await listener.bind()
                print("\(mode.displayName) management API: http://\(ListenAddress(host: address.host, port: port))")
            } catch {
                throw Failure("cannot listen on \(address) (\(mode.displayName) management API): \(error)")
            }
            services.append(ListenerService(listener))
        }
        for mode in Mode.allCases {
            let address = boot.config.proxyAddress(mode)
            let proxy = try ProxyServer(engine: boot.engine(mode), address: address, group: dataPlaneGroup, logger: logger)
            do {
                let port = try await proxy.bind()
                print("\(mode.displayName) data plane: http://\(ListenAddress(host: address.host, port: port))")
            } catch {
                throw Failure("cannot listen on \(address) (\(mode.displayName) data plane): \(error)")
            }
            services.append(ProxyService(proxy))
        }
        print("Data directory: \(boot.directory.path)")
        fflush(nil)  // stdout is a pipe under tests and supervisors: show the addresses now
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    private func applyFlags(_ config: inout KnoxConfig) throws {
        if let liveAPI, let a = ListenAddress(liveAPI) { config.liveAPI = a }
        if let testAPI, let a = ListenAddress(testAPI) { config.testAPI = a }
        if let liveProxy, let a = ListenAddress(liveProxy) { config.liveProxy = a }
        if let testProxy, let a = ListenAddress(testProxy) { config.testProxy = a }
    }
}
