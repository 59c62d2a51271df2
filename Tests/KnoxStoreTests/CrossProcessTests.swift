import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxStore

@Suite struct CrossProcessTests {
    func bumpFromAnotherProcess(_ path: String) throws {
        let sqlite = try ChildProcess(
            "/usr/bin/sqlite3", [path, "UPDATE config_version SET version = version + 10"],
            environment: ChildProcess.environment())
        #expect(sqlite.wait() == 0, "\(sqlite.combinedOutput)")
    }

    /// Another process's commit is visible to this process's next read, sync or async, without this process writing.
    @Test func seesCommitsOfAnotherProcess() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.file("live.sqlite")
        let store = try Store(path: path)
        let before = try store.configVersion()
        _ = try await store.read { try $0.configVersion() }
        try bumpFromAnotherProcess(path)
        #expect(try store.configVersion() == before + 10)
        #expect(try await store.read { try $0.configVersion() } == before + 10)
        for _ in 0..<5 { _ = try await store.read { try $0.configVersion() } }
        try bumpFromAnotherProcess(path)
        #expect(try store.configVersion() == before + 20)
        #expect(try await store.read { try $0.configVersion() } == before + 20)
        // A second opener in this process coming and going (as the sibling check at start-up does) changes nothing.
        do {
            let other = try Store(path: path)
            #expect(try other.configVersion() == before + 20)
        }
        try bumpFromAnotherProcess(path)
        #expect(try store.configVersion() == before + 30)
        #expect(try await store.read { try $0.configVersion() } == before + 30)
        // The other process must not have taken itself for the last user: our WAL is still there.
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(FileManager.default.fileExists(atPath: path + "-shm"))
    }
}
