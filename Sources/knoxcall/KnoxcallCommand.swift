import ArgumentParser
import Foundation
import KnoxCore
import KnoxEngine

/// `knoxcall`: the self-hosted KnoxCall gateway.
@main
struct KnoxcallCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "knoxcall",
        abstract: "Self-hosted KnoxCall: an API gateway that keeps upstream credentials encrypted and injects them.",
        version: "knoxcall \(version) (API \(apiVersionName))",
        subcommands: [ConsoleCommand.self, Serve.self, Keys.self, Init.self, OpenAPI.self, Version.self],
        defaultSubcommand: ConsoleCommand.self
    )

    static let apiVersionName = "2026-08-05"
}

/// Options every command that touches the data directory shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (default: $KNOXCALL_HOME, else ~/.knoxcall).")
    var dataDir: String?

    /// Resolves, creates and checks the data directory, or exits with a message.
    func directory() throws -> DataDirectory {
        let path = DataDirectory.resolvePath(flag: dataDir, environment: ProcessInfo.processInfo.environment)
        let directory: DataDirectory
        do {
            directory = try DataDirectory.prepare(path)
        } catch {
            throw Failure(error.description)
        }
        if let mode = directory.tightenedFrom {
            FileHandle.standardError.write(
                Data(
                    "knoxcall: warning: data directory \(path) was open to other users (mode \(String(mode, radix: 8))); set to 700\n"
                        .utf8))
        }
        return directory
    }
}

/// A runtime failure: printed as `knoxcall: error: …`, exit status 1.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("knoxcall \(KnoxcallCommand.version) (API \(KnoxcallCommand.apiVersionName))")
    }
}
