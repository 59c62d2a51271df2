import Foundation
import KnoxEngine
import KnoxTestSupport
import Testing

/// A data directory open to other users is set to 0700 when it is opened (and the old mode reported).
@Suite struct DataDirectoryTests {
    private func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int ?? 0) & 0o777
    }

    @Test func looserPermissionsAreTightened() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        let opened = try DataDirectory.prepare(dir.path)
        #expect(opened.tightenedFrom == 0o755)
        #expect(mode(dir.path) == 0o700)
        // Already private: left alone, nothing reported.
        #expect(try DataDirectory.prepare(dir.path).tightenedFrom == nil)
        // A new one is made 0700.
        let fresh = TempDirectory(path: dir.path + "/nested")
        _ = try DataDirectory.prepare(fresh.path)
        #expect(mode(fresh.path) == 0o700)
    }
}
