import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct CLITests {
    @Test func versionAndHelp() throws {
        let v = try Knoxcall.run(["version"])
        #expect(v.status == 0)
        #expect(v.stdout.hasPrefix("knoxcall "))
        #expect(v.stdout.contains("2026-08-05"))
        let help = try Knoxcall.run(["--help"])
        #expect(help.stdout.contains("serve") && help.stdout.contains("keys"))
    }

    @Test(arguments: [
        (["serve", "--bogus"], "Unknown option '--bogus'"),
        (["serve", "--live-api", "nowhere"], "--live-api must be host:port"),
        (["serve", "--log-level", "loud"], "--log-level must be one of"),
        (["keys", "create"], "Missing expected argument '--name"),
        (["keys", "create", "--name", "x", "--role", "owner"], "--role must be one of"),
        (
            ["keys", "create", "--name", "x", "--access-key", "--test", "--scope", "routes:read"],
            "--access-key keys are production keys"
        ),
        (["keys", "create", "--name", "x", "--expires-in-days", "400"], "--expires-in-days must be from 1 to 365"),
        (["frobnicate"], "Unexpected argument 'frobnicate'"),
    ])
    func badFlagsNameTheProblem(arguments: [String], message: String) throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let r = try Knoxcall.run(arguments.count > 1 ? arguments + ["--data-dir", dir.path] : arguments)
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "stderr: \(r.stderr)")
    }

    @Test func badConfigFilesNameTheKey() throws {
        let cases: [(String, String)] = [
            ("[listen]\nlive_api = \"nowhere\"\n", "listen.live_api: expected host:port"),
            ("[listen]\nlive_api = 8700\n", "listen.live_api: must be a string (got number)"),
            ("[limits]\nroutes = -1\n", "limits.routes: must be between 0 and 10000000"),
            ("[tenant]\nslug = \"Not A Label\"\n", "tenant.slug: must be a DNS label"),
            ("[listen]\nlive_apii = \"127.0.0.1:1\"\n", "listen.live_apii: unknown field"),
            ("[nonsense]\n", "nonsense: unknown field"),
            ("this is = = not toml", "line 1"),
        ]
        for (text, message) in cases {
            let dir = TempDirectory()
            defer { dir.remove() }
            try text.write(toFile: dir.file("config.toml"), atomically: true, encoding: .utf8)
            let r = try Knoxcall.run(["keys", "list", "--data-dir", dir.path])
            #expect(r.status == 1, "\(text)")
            #expect(r.stderr.contains("config.toml: ") && r.stderr.contains(message), "stderr: \(r.stderr)")
        }
    }

    @Test func unusableDataDirectories() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let file = dir.file("plain-file")
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let r = try Knoxcall.run(["keys", "list", "--data-dir", file])
        #expect(r.status == 1)
        #expect(r.stderr.contains("exists but is not a directory"))
        let nested = try Knoxcall.run(["keys", "list", "--data-dir", file + "/sub"])
        #expect(nested.status == 1)
        #expect(nested.stderr.contains("cannot create data directory"))
    }

    @Test func masterKeyProblems() throws {
        let parent = TempDirectory()
        defer { parent.remove() }
        let dir = TempDirectory(path: parent.file("data"))
        #expect(try Knoxcall.run(["init", "--data-dir", dir.path]).status == 0)
        let keyFile = dir.file("master.key")
        for file in ["master.key", "live.sqlite", "test.sqlite"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.file(file))
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(file)")
        }
        let dirAttributes = try FileManager.default.attributesOfItem(atPath: dir.path)
        #expect((dirAttributes[.posixPermissions] as? Int) == 0o700)
        let bad = try Knoxcall.run(
            ["keys", "list", "--data-dir", dir.path], environment: ["KNOXCALL_MASTER_KEY": "short"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("KNOXCALL_MASTER_KEY"))
        let other = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let wrong = try Knoxcall.run(
            ["keys", "list", "--data-dir", dir.path], environment: ["KNOXCALL_MASTER_KEY": other])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("master key does not match"))
        chmod(keyFile, 0o644)
        let open = try Knoxcall.run(["keys", "list", "--data-dir", dir.path])
        #expect(open.status == 1)
        #expect(open.stderr.contains("chmod 600"))
    }

    @Test func keysAreShownOnce() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let created = try Knoxcall.run(["keys", "create", "--name", "ci", "--data-dir", dir.path])
        #expect(created.status == 0)
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(KeyCredential.parse(key)?.kind == .standard)
        #expect(!created.stderr.contains(key))
        let test = try Knoxcall.run([
            "keys", "create", "--name", "t", "--test", "--role", "read-only", "--data-dir", dir.path,
        ])
        #expect(test.stdout.hasPrefix("tk_test_"))
        let ake = try Knoxcall.run([
            "keys", "create", "--name", "a", "--access-key", "--scope", "routes:read", "--data-dir", dir.path,
        ])
        #expect(ake.stdout.hasPrefix("AKE"))
        let secretPart = String(key.split(separator: "_").last ?? "")
        let list = try Knoxcall.run(["keys", "list", "--data-dir", dir.path, "--json"])
        #expect(list.status == 0)
        #expect(!list.stdout.contains(secretPart))
        let rows = try JSONValue.parse(list.stdout).arrayValue ?? []
        #expect(rows.count == 2)  // the test key lives in the other database
        let id = try #require(rows.first { $0["name"] == "ci" }?["id"]?.stringValue)
        #expect(try Knoxcall.run(["keys", "revoke", id, "--data-dir", dir.path]).status == 0)
        let after = try JSONValue.parse(try Knoxcall.run(["keys", "list", "--data-dir", dir.path, "--json"]).stdout)
        #expect(after.arrayValue?.first { $0["id"] == .string(id) }?["active"] == false)
        let missing = try Knoxcall.run(["keys", "revoke", "nope", "--data-dir", dir.path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("API key not found"))
        let testList = try Knoxcall.run(["keys", "list", "--test", "--data-dir", dir.path])
        #expect(testList.stdout.contains("tk_test_"))
        #expect(!testList.stdout.contains("tk_live_"))
    }
}
