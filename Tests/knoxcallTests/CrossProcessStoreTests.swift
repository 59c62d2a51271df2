import Foundation
import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Testing

@Suite struct CrossProcessEngineTests {
    @Test func engineSeesTheCommandLinesWrites() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        #expect(try Knoxcall.run(["init", "--data-dir", dir.path]).status == 0)
        let directory = try DataDirectory.prepare(dir.path)
        let masterKey = try directory.loadMasterKey(environment: [:])
        let engine = try Engine.open(mode: .live, directory: directory, masterKey: masterKey, config: KnoxConfig())
        _ = try await engine.reloadIfChanged()
        let v0 = engine.snapshot.version
        for round in 1...3 {
            #expect(try Knoxcall.run(["keys", "create", "--name", "k\(round)", "--data-dir", dir.path]).status == 0)
            #expect(try await engine.reloadIfChanged(), "round \(round)")
            #expect(engine.snapshot.version == v0 + Int64(round))
        }
    }
}
