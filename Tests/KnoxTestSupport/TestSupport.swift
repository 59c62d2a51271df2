import Foundation
import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import KnoxEngine
import Synchronization

/// A clock tests move by hand.
public final class ManualClock: WallClock, Sendable {
    private let millis: Mutex<Int64>

    public init(_ start: Int64 = 1_790_000_000_000) { millis = Mutex(start) }
    public func nowMillis() -> Int64 { millis.withLock { $0 } }
    public func advance(seconds: Double) { millis.withLock { $0 += Int64(seconds * 1000) } }
}

/// A fresh data directory under the system temporary directory, removed by `remove()`.
public struct TempDirectory: Sendable {
    public let path: String

    public init(_ label: String = "knoxcall-test") {
        path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path that is not created (for "created on first start" checks).
    public init(path: String) { self.path = path }

    /// Removes the directory, keeping its files for the whole-suite leak scan first (`Capture`).
    public func remove() {
        Capture.keep(directory: path)
        try? FileManager.default.removeItem(atPath: path)
    }
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// Opens engines on a temporary data directory, as the executable does.
public struct EngineFixture: Sendable {
    public let dir: TempDirectory
    public let directory: DataDirectory
    public let masterKey: MasterKey
    public let clock: ManualClock
    public let config: KnoxConfig
    /// One list of listeners for both modes' engines, as in the executable.
    public let listeners: OwnListeners

    public init(config: KnoxConfig = KnoxConfig(), clock: ManualClock = ManualClock()) throws {
        dir = TempDirectory()
        directory = try DataDirectory.prepare(dir.path)
        masterKey = MasterKey.generate()
        self.clock = clock
        self.config = config
        listeners = OwnListeners(config: config)
    }

    public func engine(_ mode: Mode = .live) throws -> Engine {
        try Engine.open(
            mode: mode, directory: directory, masterKey: masterKey, config: config, clock: clock, listeners: listeners)
    }

    /// A context acting as the console (every permission).
    public static func console() -> RequestContext { RequestContext(actor: .console) }
}

extension Engine {
    /// Creates a key with `role` and returns its text (tests only).
    public func makeKey(_ name: String = "test", role: Role = .admin, extra: JSONObject = [:]) async throws -> String {
        var body: JSONObject = ["name": .string(name), "role_ids": [.string(role.id)], "never_expires": true]
        for (k, v) in extra { body[k] = v }
        if extra["expires_in_days"] != nil || extra["expires_at"] != nil { body["never_expires"] = nil }
        let result = try await createApiKey(.create(.object(body)), RequestContext(actor: .cli))
        guard let key = result.value?.text else { throw TestFailure("no api_key in answer") }
        Capture.plantKey(key)
        return key
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
