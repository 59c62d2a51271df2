import ArgumentParser
import Foundation
import KnoxCore
import KnoxEngine
import Logging

/// `knoxcall keys …`: make the first key, list and revoke keys, straight on the database.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct ModeOptions: ParsableArguments {
        @Flag(help: "Act on the sandbox (Test) database instead of production (Live).")
        var test = false
        var mode: Mode { test ? .test : .live }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key and print it once (the key alone on standard output).")

        @OptionGroup var data: DataOptions
        @OptionGroup var modeOptions: ModeOptions
        @Option(help: "A name for the key.") var name: String
        @Option(help: "Role: admin (default), editor, infrastructure, read-only or invoke.") var role: String = "admin"
        @Flag(help: "Make an AKE access key (production only) limited to --scope permissions.") var accessKey = false
        @Option(name: .customLong("scope"), help: "A permission for an access key, e.g. routes:read (repeatable).")
        var scopes: [String] = []
        @Option(help: "Expire after this many days (1-365; default: never, 90 for access keys).")
        var expiresInDays: Int?
        @Flag(help: "As an OAuth client, get tokens only with a DPoP proof (tokens bound to the proof's key).")
        var requireDpop = false
        @Option(
            name: .customLong("redirect-uri"),
            help: "An OAuth redirect URI for the authorization-code grant (repeatable).")
        var redirectUris: [String] = []
        @Flag(help: "Print the whole result as JSON (including the key, once).") var json = false

        func validate() throws {
            if accessKey && modeOptions.test {
                throw ValidationError("--access-key keys are production keys; drop --test")
            }
            if !accessKey && !scopes.isEmpty { throw ValidationError("--scope goes with --access-key") }
            if accessKey && scopes.isEmpty { throw ValidationError("--access-key needs at least one --scope") }
            if !accessKey && Role.seeded(matching: role) == nil {
                throw ValidationError(
                    "--role must be one of \(Role.seeded.map(\.slug).joined(separator: ", ")) (got \"\(role)\")")
            }
            if let days = expiresInDays, !(1...365).contains(days) {
                throw ValidationError("--expires-in-days must be from 1 to 365")
            }
        }

        func run() async throws {
            let logger = Logging.make(label: "knoxcall", level: .warning)
            let engine = try Bootstrap.open(try data.directory(), modes: [modeOptions.mode], logger: logger)
                .engine(modeOptions.mode)
            var body: JSONObject = ["name": .string(name)]
            if accessKey {
                body["key_type"] = "access_key"
                body["scopes"] = .array(scopes.map(JSONValue.string))
                body["expires_in_days"] = .int(expiresInDays ?? 90)
            } else {
                body["role_ids"] = [.string(Role.seeded(matching: role)?.id ?? role)]
                if let days = expiresInDays {
                    body["expires_in_days"] = .int(days)
                } else {
                    body["never_expires"] = true
                }
            }
            if requireDpop { body["require_dpop"] = true }
            if !redirectUris.isEmpty { body["redirect_uris"] = .array(redirectUris.map(JSONValue.string)) }
            let result: MutationResult<CreatedApiKey>
            do {
                result = try await engine.createApiKey(.create(.object(body)), RequestContext(actor: .cli))
            } catch let error as ApiError {
                throw Failure(error.message)
            }
            guard let created = result.value else { throw Failure("The key was not made") }
            if json {
                print(result.data.prettySerialized())
                return
            }
            let expires = created.key.expiresAt.map { Timestamp.format(millis: $0) } ?? "never"
            FileHandle.standardError.write(
                Data(
                    "Created \(engine.mode.displayName) API key \"\(name)\" (\(created.key.keyPrefix)_…), expires: \(expires).\nStore it now; it is not shown again:\n"
                        .utf8))
            print(created.text)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (never the keys themselves).")

        @OptionGroup var data: DataOptions
        @OptionGroup var modeOptions: ModeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = Logging.make(label: "knoxcall", level: .warning)
            let engine = try Bootstrap.open(try data.directory(), modes: [modeOptions.mode], logger: logger)
                .engine(modeOptions.mode)
            var keys: [ApiKey] = []
            var page = 1
            while true {
                var query = Engine.apiKeyQuery.defaults
                (query.page.page, query.page.perPage, query.page.order) = (page, 100, .asc)
                let result = try await engine.apiKeys(query, actor: .cli)
                keys += result.items
                if page >= result.totalPages { break }
                page += 1
            }
            if json {
                print(JSONValue.array(keys.map(Wire.apiKey)).prettySerialized())
                return
            }
            func time(_ millis: Int64?) -> String? { millis.map { Timestamp.format(millis: $0) } }
            print(
                Table.render(
                    header: ["ID", "KEY", "NAME", "TYPE", "STATUS", "CREATED", "LAST USED", "EXPIRES"],
                    rows: keys.map { k in
                        [
                            k.id, k.keyPrefix + "_…", k.name, k.keyType.rawValue, k.active ? "active" : "revoked",
                            time(k.createdAt) ?? "", time(k.lastUsedAt) ?? "-", time(k.expiresAt) ?? "never",
                        ]
                    }))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key by its id or key id.")

        @OptionGroup var data: DataOptions
        @OptionGroup var modeOptions: ModeOptions
        @Argument(help: "The key's id (from `keys list`) or its key id.") var id: String

        func run() async throws {
            let logger = Logging.make(label: "knoxcall", level: .warning)
            let engine = try Bootstrap.open(try data.directory(), modes: [modeOptions.mode], logger: logger)
                .engine(modeOptions.mode)
            do {
                _ = try await engine.revokeApiKey(id, RequestContext(actor: .cli))
            } catch let error as ApiError {
                throw Failure(error.message)
            }
            print("Revoked \(id). Running servers refuse it within a second.")
        }
    }
}

/// Plain column formatting for the command line.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
