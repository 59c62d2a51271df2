import Foundation
import KnoxAPI
import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Testing

@Suite final class IsolationAndPersistenceTests {
    let fixture: EngineFixture

    deinit { fixture.dir.remove() }

    init() throws { fixture = try EngineFixture() }

    @Test func liveAndTestNeverMix() async throws {
        let live = try fixture.engine(.live)
        let test = try fixture.engine(.test)
        #expect(live.tenantId == test.tenantId)
        try await test.route(#"{"name":"Sandbox only","target_base_url":"https://a.com"}"#)
        try await test.secret("TEST_SECRET", "x")
        #expect(try await live.listRoutes([:], actor: .console).total == 0)
        #expect(try await live.listSecrets([:], actor: .console).total == 0)
        #expect(try await test.listRoutes([:], actor: .console).total == 1)
        let testKey = try await test.makeKey()
        #expect(testKey.hasPrefix("tk_test_"))
        let liveKey = try await live.makeKey()
        await expectApiError(.wrongKeyType) { try live.authenticate(credential: testKey) }
        await expectApiError(.wrongKeyType) { try test.authenticate(credential: liveKey) }
        // Audit rows of each side stay on that side.
        #expect(try await live.audit().allSatisfy { $0["details"]?["sandbox"] == false })
        #expect(try await test.audit().allSatisfy { $0["details"]?["sandbox"] == true })
        #expect(try await test.account()["sandbox"] == true)
    }

    @Test func restartKeepsEverything() async throws {
        var key = ""
        do {
            let engine = try fixture.engine()
            try await engine.secret("KEEP", "value-kept")
            try await engine.route(
                #"{"name":"Kept","target_base_url":"https://a.com","inject_headers_json":{"A":"{{secret:KEEP}}"}}"#)
            key = try await engine.makeKey()
        }
        let reopened = try fixture.engine()
        #expect(try await reopened.getRoute("kept", actor: .console)["name"] == "Kept")
        _ = try reopened.authenticate(credential: key)
        let sealed = try #require(reopened.snapshot.sealedValues.values.first?["production"])
        let secretId = try #require(reopened.snapshot.secretIdsByName["KEEP"])
        #expect(
            try SecretSealer(masterKey: fixture.masterKey).open(
                sealed.ciphertext, tenantId: reopened.tenantId, secretId: secretId, environment: "production"
            ).reveal() == "value-kept")
    }

    @Test func wrongMasterKeyStopsTheStart() throws {
        _ = try fixture.engine()
        do {
            _ = try Engine.open(
                mode: .live, directory: fixture.directory, masterKey: MasterKey.generate(), config: KnoxConfig())
            Issue.record("opened with the wrong master key")
        } catch {
            #expect("\(error)".contains("master key does not match"))
        }
    }

    @Test func swappedDatabasesAreRefused() throws {
        _ = try fixture.engine(.live)
        _ = try fixture.engine(.test)
        let fm = FileManager.default
        let live = fixture.directory.databasePath(.live)
        let test = fixture.directory.databasePath(.test)
        try fm.moveItem(atPath: live, toPath: live + ".tmp")
        try fm.moveItem(atPath: test, toPath: live)
        try fm.moveItem(atPath: live + ".tmp", toPath: test)
        for suffix in ["-wal", "-shm"] {
            try? fm.removeItem(atPath: live + suffix)
            try? fm.removeItem(atPath: test + suffix)
        }
        do {
            _ = try fixture.engine(.live)
            Issue.record("opened test data as live")
        } catch {
            #expect("\(error)".contains("must not be swapped"))
        }
    }

    @Test func anotherProcessesWritesArrive() async throws {
        let server = try fixture.engine()
        let other = try fixture.engine()  // a second opener of the same files, as the CLI is
        let before = server.snapshot.version
        let key = try await other.makeKey("from the cli")
        await expectApiError(.invalidApiKey) { try server.authenticate(credential: key) }
        #expect(try await server.reloadIfChanged())
        #expect(server.snapshot.version > before)
        _ = try server.authenticate(credential: key)
        #expect(try await !server.reloadIfChanged())
    }

    @Test func handlerAnswersAfterItsSnapshot() async throws {
        let engine = try fixture.engine()
        let before = engine.snapshot.version
        let key = try await engine.makeKey()
        // Read-your-writes: the key works on the very next call, no reload needed.
        #expect(engine.snapshot.version == before + 1)
        let caller = try engine.authenticate(credential: key)
        _ = try await engine.revokeApiKey(caller.key!.id, console)
        await expectApiError(.invalidApiKey) { try engine.authenticate(credential: key) }
    }
}
