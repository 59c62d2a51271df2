import Foundation
import GRDB
import KnoxCore

#if canImport(Glibc)
    import Glibc
#endif

/// One mode's SQLite database: WAL, foreign keys on, synchronous=FULL, versioned migrations.
///
/// Every SQL statement of the product lives in this module. Callers work through `StoreAccess`, handed to them
/// inside a read or a write transaction as an `any StoreTransaction` (the `Storage` protocol).
public final class Store: Storage {
    private let pool: DatabasePool
    public let path: String

    /// Why the database could not be opened.
    public struct OpenError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot open database \(path): \(reason)" }
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String) throws(OpenError) {
        self.path = path
        var config = Configuration()
        config.foreignKeysEnabled = true
        // Another process (the CLI, a second console) may hold the write lock briefly.
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            // FULL: a transaction answered with a 2xx survives power loss, not just a process kill (readers and the
            // writer alike; the writer is set again below).
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Reads through the page cache and memory map instead of a pread per page (the log writer appends a lot).
            try db.execute(sql: "PRAGMA cache_size = -16384")
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // GRDB's pool sets its writer to synchronous=NORMAL once it has switched to WAL, after `prepareDatabase`
            // ran: set FULL again on the one connection that writes.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Migrations.migrator().migrate(pool)
        } catch {
            throw OpenError(path: path, reason: Store.describe(error))
        }
        // Owner-only files. chmod, never open()+close(): closing any descriptor of a database file drops every POSIX
        // lock this process holds on it, after which another process may think it is the last user and delete the
        // WAL under our feet (sqlite.org/howtocorrupt.html §2.2).
        for suffix in ["", "-wal", "-shm"] {
            chmod(path + suffix, 0o600)
        }
    }

    /// Runs `body` in a write transaction; it commits when `body` returns and rolls back when it throws.
    public func write<T: Sendable>(_ body: @Sendable @escaping (any StoreTransaction) throws -> T) async throws -> T {
        try await writeSQLite { access in try body(access) }
    }

    /// `write`, handing `body` the SQLite access itself (for this module and its tests, which reach the `Database`).
    func writeSQLite<T: Sendable>(_ body: @Sendable @escaping (StoreAccess) throws -> T) async throws -> T {
        do {
            return try await pool.write { db in try body(StoreAccess(db: db)) }
        } catch let error as DatabaseError {
            throw Store.classified(error)
        }
    }

    /// A busy database (`StoreBusy`: retry at once), one that cannot be used now (`StoreUnavailable`), or the error as
    /// it is.
    static func classified(_ error: DatabaseError) -> Error {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_PROTOCOL: return StoreBusy()
        case _ where isUnwritable(error): return StoreUnavailable(reason: error.message ?? "\(error.resultCode)")
        default: return error
        }
    }

    /// The database file cannot take a write right now: the disk (or the process's file-size limit) is full, the file
    /// or its directory became read-only, or the device failed. The transaction was rolled back; once the cause is
    /// gone the next write works, without a restart.
    static func isUnwritable(_ error: DatabaseError) -> Bool {
        [.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode)
    }

    /// Runs `body` in a read transaction (a consistent snapshot of the database).
    public func read<T: Sendable>(_ body: @Sendable @escaping (any StoreTransaction) throws -> T) async throws -> T {
        try await readSQLite { access in try body(access) }
    }

    /// `read`, handing `body` the SQLite access itself (for this module and its tests, which reach the `Database`).
    func readSQLite<T: Sendable>(_ body: @Sendable @escaping (StoreAccess) throws -> T) async throws -> T {
        do {
            return try await pool.read { db in try body(StoreAccess(db: db)) }
        } catch let error as DatabaseError {
            throw Store.classified(error)
        }
    }

    /// Synchronous write, for start-up and the command line.
    public func writeSync<T>(_ body: (any StoreTransaction) throws -> T) throws -> T {
        try pool.write { db in try body(StoreAccess(db: db)) }
    }

    /// Synchronous read, for start-up and the command line.
    public func readSync<T>(_ body: (any StoreTransaction) throws -> T) throws -> T {
        try pool.read { db in try body(StoreAccess(db: db)) }
    }

    /// The configuration version, bumped by every configuration change in any process.
    public func configVersion() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT version FROM config_version WHERE id = 1") ?? 0 }
    }

    static func describe(_ error: Error) -> String {
        if let db = error as? DatabaseError {
            return db.message ?? "\(db.resultCode)"
        }
        return "\(error)"
    }
}

/// The database stayed locked by another writer past the busy timeout.
public struct StoreBusy: Error {}

/// A write failed because the database cannot be written now (`Store.isUnwritable`); nothing of it was kept.
public struct StoreUnavailable: Error {
    /// SQLite's own words ("database or disk is full"): never data from the request.
    public let reason: String
}

/// Typed access to the tables inside one transaction.
public struct StoreAccess {
    let db: Database

    /// Reads a value of the `meta` table.
    public func meta(_ key: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key])
    }

    /// Writes a value of the `meta` table.
    public func setMeta(_ key: String, _ value: String) throws {
        try db.execute(
            sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [key, value])
    }

    /// The configuration version.
    public func configVersion() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT version FROM config_version WHERE id = 1") ?? 0
    }

    /// Bumps the configuration version; every configuration change calls this in its transaction.
    @discardableResult
    public func bumpConfigVersion() throws -> Int64 {
        try db.execute(sql: "UPDATE config_version SET version = version + 1 WHERE id = 1")
        return try configVersion()
    }

    /// Counts the rows of a table that `StoreTable` names.
    public func count(_ table: StoreTable) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.rawValue)") ?? 0
    }
}

/// Tables whose rows count against plan limits.
public enum StoreTable: String, Sendable {
    case routes
    case secrets
    case clients
    case environments
    case apiKeys = "api_keys"
}

// MARK: - Helpers shared by the record mappings

extension JSONValue {
    /// Parses a JSON column written by this module; nil for NULL.
    static func column(_ text: String?) -> JSONValue? {
        guard let text else { return nil }
        return try? JSONValue.parse(text)
    }
}

func jsonText(_ object: JSONObject?) -> String? { object.map { JSONValue.object($0).serialized() } }
func jsonText(_ strings: [String]?) -> String? {
    strings.map { JSONValue.array($0.map(JSONValue.string)).serialized() }
}
func jsonText(_ objects: [JSONObject]?) -> String? {
    objects.map { JSONValue.array($0.map(JSONValue.object)).serialized() }
}
func jsonObject(_ text: String?) -> JSONObject? { JSONValue.column(text)?.objectValue }
func jsonStrings(_ text: String?) -> [String]? { JSONValue.column(text)?.arrayValue?.compactMap(\.stringValue) }
func jsonObjects(_ text: String?) -> [JSONObject]? { JSONValue.column(text)?.arrayValue?.compactMap(\.objectValue) }

extension StoreAccess {
    /// One text value from a read-only statement (for diagnostics and tests, e.g. `PRAGMA journal_mode`).
    public func scalar(_ sql: String) throws -> String? { try String.fetchOne(db, sql: sql) }
}
