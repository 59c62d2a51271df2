import Foundation
import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import KnoxEngine
import Logging

/// Opens what a command needs from the data directory, turning every problem into one clear message.
struct Bootstrap {
    let directory: DataDirectory
    let config: KnoxConfig
    let engines: [Mode: Engine]

    static func open(
        _ directory: DataDirectory, modes: [Mode], overrides: (inout KnoxConfig) throws -> Void = { _ in },
        logger: Logger
    ) throws -> Bootstrap {
        var config: KnoxConfig
        do {
            config = try directory.loadConfig()
        } catch {
            throw Failure(error.description)
        }
        try overrides(&config)
        let masterKey: MasterKey
        do {
            masterKey = try directory.loadMasterKey(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw Failure(error.description)
        }
        var engines: [Mode: Engine] = [:]
        // One list of this process's listeners for both modes: a Live route may not target the Test data plane either.
        let listeners = OwnListeners(config: config)
        for mode in modes {
            do {
                engines[mode] = try Engine.open(
                    mode: mode, directory: directory, masterKey: masterKey, config: config, logger: logger,
                    listeners: listeners)
            } catch {
                throw Failure(error.description)
            }
        }
        return Bootstrap(directory: directory, config: config, engines: engines)
    }

    func engine(_ mode: Mode) -> Engine {
        // `open` made one engine per requested mode; callers only ask for modes they requested.
        guard let engine = engines[mode] else { preconditionFailure("engine for \(mode) was not opened") }
        return engine
    }
}
