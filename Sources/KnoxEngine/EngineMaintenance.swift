import KnoxCore
import KnoxDataPlane
import Logging
import ServiceLifecycle

/// Keeps engines current while the process runs: picks up configuration written by another process (the CLI, a
/// second console) within a second, and writes batched `last_used_at` times of API keys.
public struct EngineMaintenance: Service {
    let engines: [Engine]
    let pollInterval: Duration
    let logger: Logger

    public init(engines: [Engine], pollInterval: Duration = .milliseconds(250), logger: Logger) {
        self.engines = engines
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        var ticks = 0
        var reported = engines.map { _ in ConnectionStats.Counts() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for engine in engines {
                do {
                    if try await engine.reloadIfChanged() {
                        logger.debug("configuration reloaded", metadata: ["mode": "\(engine.mode.rawValue)"])
                    }
                } catch {
                    logger.warning("configuration reload failed", metadata: ["mode": "\(engine.mode.rawValue)"])
                }
            }
            ticks += 1
            if ticks % 40 == 0 {
                await flush()
                for (i, engine) in engines.enumerated() {
                    reported[i] = engine.connectionStats.report(
                        since: reported[i], mode: engine.mode.rawValue, logger: logger)
                }
            }
            try? await Task.sleep(for: pollInterval)
        }
        await flush()
    }

    private func flush() async {
        for engine in engines {
            try? await engine.flushKeyUsage()
        }
    }
}
