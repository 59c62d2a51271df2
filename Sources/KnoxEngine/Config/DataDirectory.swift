import Foundation
import KnoxCore
import KnoxCrypto
import KnoxDataPlane

#if canImport(Glibc)
    import Glibc
#endif

/// The data directory: both databases, the master key, `config.toml` and console preferences.
public struct DataDirectory: Sendable {
    public let path: String
    /// The directory's mode before `prepare` tightened it to 0700, when group or others could use it.
    public private(set) var tightenedFrom: UInt32?

    /// A problem with the data directory or the master key, worded for an operator.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    /// `--data-dir`, else `$KNOXCALL_HOME`, else `~/.knoxcall`.
    public static func resolvePath(flag: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return absolute(flag) }
        if let home = environment["KNOXCALL_HOME"], !home.isEmpty { return absolute(home) }
        let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (userHome as NSString).appendingPathComponent(".knoxcall")
    }

    private static func absolute(_ p: String) -> String {
        let expanded = (p as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(expanded)
    }

    /// Creates the directory (mode 0700) when missing and checks that it is a writable directory.
    public static func prepare(_ path: String) throws(Problem) -> DataDirectory {
        var isDir: ObjCBool = false
        var tightened: UInt32?
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw Problem(message: "data directory \(path) exists but is not a directory")
            }
            tightened = try tighten(path)
        } else {
            do {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw Problem(message: "cannot create data directory \(path): \(describe(error))")
            }
        }
        guard access(path, R_OK | W_OK | X_OK) == 0 else {
            throw Problem(message: "data directory \(path) is not readable and writable by this user")
        }
        var directory = DataDirectory(path: path)
        directory.tightenedFrom = tightened
        return directory
    }

    public init(path: String) { self.path = path }

    /// An existing directory that group or others may read, write or enter holds the databases and the master key
    /// open to them: it is set to 0700 (and its old mode returned), or refused when that is not possible.
    private static func tighten(_ path: String) throws(Problem) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Problem(message: "cannot read the permissions of data directory \(path)")
        }
        let mode = UInt32(info.st_mode) & 0o777
        guard mode & 0o077 != 0 else { return nil }
        guard info.st_uid == getuid(), chmod(path, 0o700) == 0 else {
            throw Problem(
                message: "data directory \(path) is open to other users (mode \(String(mode, radix: 8))) and cannot be "
                    + "set to 0700 by this user; run chmod 700 \(path)")
        }
        return mode
    }

    public var configPath: String { file("config.toml") }
    public var masterKeyPath: String { file("master.key") }
    public var preferencesPath: String { file("console.json") }
    public func databasePath(_ mode: Mode) -> String { file(mode.databaseFileName) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Reads `config.toml` (defaults when absent).
    public func loadConfig() throws(ConfigError) -> KnoxConfig { try KnoxConfig.load(path: configPath) }

    /// The master key: `KNOXCALL_MASTER_KEY` when set, else `master.key`, created (mode 0600) on first start.
    public func loadMasterKey(environment: [String: String]) throws(Problem) -> MasterKey {
        if let text = environment["KNOXCALL_MASTER_KEY"], !text.isEmpty {
            do {
                return try MasterKey(base64: text)
            } catch {
                throw Problem(message: "KNOXCALL_MASTER_KEY \(error)")
            }
        }
        let keyPath = masterKeyPath
        // O_EXCL: when two processes start at once, exactly one creates the key and the other reads it.
        let fd = open(keyPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd >= 0 {
            let key = MasterKey.generate()
            let bytes = Array((key.base64Encoded() + "\n").utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd)
            close(fd)
            guard written == bytes.count, synced == 0 else {
                unlink(keyPath)
                throw Problem(message: "cannot write master key \(keyPath)")
            }
            return key
        }
        guard errno == EEXIST else {
            throw Problem(message: "cannot create master key \(keyPath): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard stat(keyPath, &info) == 0 else { throw Problem(message: "cannot read master key \(keyPath)") }
        if info.st_mode & 0o077 != 0 {
            throw Problem(
                message:
                    "master key \(keyPath) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "run: chmod 600 \(keyPath)")
        }
        guard let data = FileManager.default.contents(atPath: keyPath), let text = String(data: data, encoding: .utf8)
        else {
            throw Problem(message: "cannot read master key \(keyPath)")
        }
        do {
            return try MasterKey(base64: text)
        } catch {
            throw Problem(message: "master key \(keyPath) \(error)")
        }
    }

    static func describe(_ error: Error) -> String {
        (error as NSError).localizedDescription
    }
}
