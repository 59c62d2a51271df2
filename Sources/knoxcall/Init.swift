import ArgumentParser
import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import Logging

/// `knoxcall init`: create the data directory, master key and both databases.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the data directory, master key and databases.")

    @OptionGroup var data: DataOptions

    func run() async throws {
        let logger = Logging.make(label: "knoxcall", level: .warning)
        let boot = try Bootstrap.open(try data.directory(), modes: Mode.allCases, logger: logger)
        print("Data directory ready: \(boot.directory.path)")
        print("Next: knoxcall keys create --name admin   (and --test for a sandbox key)")
    }
}

/// `knoxcall openapi`: print the OpenAPI document (the committed openapi.json is this output).
struct OpenAPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi", abstract: "Print the management API's OpenAPI 3.1 document.")

    func run() {
        print(OpenAPIDocument.document.prettySerialized())
    }
}
