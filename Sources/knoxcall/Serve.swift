import ArgumentParser
import Foundation
import KnoxCore
import KnoxEngine
import Logging
import ServiceLifecycle

/// `knoxcall serve`: the engine without the console.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the engine headless: both modes' management APIs and data planes.")

    @OptionGroup var data: DataOptions
    @OptionGroup var listen: ListenFlags
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        try listen.check()
    }

    func run() async throws {
        let logger = Logging.make(label: "knoxcall", level: Logger.Level(rawValue: logLevel) ?? .info)
        let host = try await Host.start(
            directory: try data.directory(), listen: listen.options, listening: true, logger: logger)
        for mode in Mode.allCases {
            print("\(mode.displayName) management API: http://\(host.apiAddress[mode] ?? "-")")
        }
        for mode in Mode.allCases {
            print("\(mode.displayName) data plane: http://\(host.proxyAddress[mode] ?? "-")")
        }
        print("Data directory: \(host.boot.directory.path)")
        fflush(nil)  // stdout is a pipe under tests and supervisors: show the addresses now
        let group = ServiceGroup(
            configuration: .init(services: host.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// `--live-api`, `--test-api`, `--live-proxy`, `--test-proxy`.
struct ListenFlags: ParsableArguments {
    @Option(help: "Live management API address (default 127.0.0.1:8700).")
    var liveAPI: String?
    @Option(help: "Test management API address (default 127.0.0.1:8701).")
    var testAPI: String?
    @Option(help: "Live data plane address (default 127.0.0.1:8800).")
    var liveProxy: String?
    @Option(help: "Test data plane address (default 127.0.0.1:8801).")
    var testProxy: String?

    var options: ListenOptions {
        ListenOptions(liveAPI: liveAPI, testAPI: testAPI, liveProxy: liveProxy, testProxy: testProxy)
    }

    func check() throws {
        if let problem = try options.validate() { throw ValidationError(problem) }
    }
}
