import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxStore

@Suite struct StoreTests {
    func withStore(_ body: (Store, TempDirectory) async throws -> Void) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        try await body(try Store(path: dir.file("live.sqlite")), dir)
    }

    func seedEnvironment(_ store: Store) throws {
        try store.writeSync { access in
            try access.insert(
                Environment(
                    id: Identifier.uuid(), name: "production", displayName: "Production", isDefault: true, createdAt: 1,
                    updatedAt: 1))
        }
    }

    @Test func usesWALAndOwnerOnlyFile() async throws {
        try await withStore { store, dir in
            let mode = try store.readSync { try String.fetchOne($0, "PRAGMA journal_mode") }
            #expect(mode == "wal")
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("live.sqlite"))
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }
    }

    /// Writes are durable across power loss (DECISIONS: WAL with synchronous=FULL) on the connection that writes, both
    /// in a synchronous write and in the async writes the API and the log writer use. GRDB's pool turns its writer to
    /// NORMAL after our connection set-up ran, so this is checked where the writes happen.
    @Test func writerConnectionIsSynchronousFull() async throws {
        try await withStore { store, _ in
            let sync = try store.writeSync { try String.fetchOne($0, "PRAGMA synchronous") }
            #expect(sync == "2")
            let async = try await store.write { try String.fetchOne($0, "PRAGMA synchronous") }
            #expect(async == "2")
        }
    }

    @Test func enforcesForeignKeys() async throws {
        try await withStore { store, _ in
            // A route whose base environment does not exist is refused by the schema itself.
            #expect(throws: (any Error).self) {
                try store.writeSync { access in
                    try access.insert(
                        Route(id: "r", name: "n", slug: "s", baseEnvironment: "missing", createdAt: 1, updatedAt: 1))
                }
            }
        }
    }

    @Test func referencedSecretCannotBeDeleted() async throws {
        try await withStore { store, _ in
            try seedEnvironment(store)
            try store.writeSync { access in
                try access.insert(
                    Secret(id: "s1", name: "KEY", baseEnvironment: "production", createdAt: 1, updatedAt: 1))
                try access.insert(
                    Route(id: "r1", name: "n", slug: "s", baseEnvironment: "production", createdAt: 1, updatedAt: 1))
                try access.replaceSecretRefs(
                    routeId: "r1", environment: "production", refs: [("inject_headers_json.A", "s1", true)])
            }
            #expect(throws: (any Error).self) { try store.writeSync { try $0.deleteSecret(id: "s1") } }
            #expect(try store.readSync { try $0.secretUses(secretId: "s1") }.map(\.routeName) == ["n"])
            // Deleting the route releases the reference.
            try store.writeSync { try $0.deleteRoute(id: "r1") }
            try store.writeSync { try $0.deleteSecret(id: "s1") }
            #expect(try store.readSync { try $0.secret(id: "s1") } == nil)
        }
    }

    @Test func failedTransactionLeavesNothing() async throws {
        try await withStore { store, _ in
            try seedEnvironment(store)
            let before = try store.configVersion()
            #expect(throws: TestFailure.self) {
                try store.writeSync { access in
                    try access.insert(
                        Route(id: "r1", name: "n", slug: "s", baseEnvironment: "production", createdAt: 1, updatedAt: 1)
                    )
                    try access.bumpConfigVersion()
                    throw TestFailure("abort")
                }
            }
            #expect(try store.readSync { try $0.allRoutes() }.isEmpty)
            #expect(try store.configVersion() == before)
        }
    }

    @Test func pagesAreStableAndCounted() async throws {
        try await withStore { store, _ in
            try seedEnvironment(store)
            try store.writeSync { access in
                for i in 0..<25 {
                    try access.insert(
                        Route(
                            id: "r\(i)", name: "route \(i)", slug: "s\(i)", baseEnvironment: "production",
                            createdAt: Int64(i % 3), updatedAt: 0))
                }
            }
            var seen: [String] = []
            for page in 1...3 {
                let p = try store.readSync {
                    try $0.routes(PageRequest(page: page, perPage: 10, sort: "created_at", order: .desc))
                }
                #expect(p.total == 25)
                seen += p.items.map(\.id)
            }
            #expect(Set(seen).count == 25)
            let beyond = try store.readSync {
                try $0.routes(PageRequest(page: 9, perPage: 10, sort: "name", order: .asc))
            }
            #expect(beyond.items.isEmpty && beyond.total == 25)
        }
    }

    @Test func idempotencyEntriesExpire() async throws {
        try await withStore { store, _ in
            try store.writeSync { access in
                try access.storeResponse(
                    actor: "a", key: "k1",
                    StoredResponse(fingerprint: "f", status: 201, response: "{}", requestId: "r1", createdAt: 100),
                    expireBefore: 0)
                try access.storeResponse(
                    actor: "a", key: "k2",
                    StoredResponse(fingerprint: "f", status: 201, response: "{}", requestId: "r2", createdAt: 200),
                    expireBefore: 150)
            }
            #expect(try store.readSync { try $0.storedResponse(actor: "a", key: "k1", since: 0) } == nil)
            #expect(try store.readSync { try $0.storedResponse(actor: "a", key: "k2", since: 0) }?.requestId == "r2")
            #expect(try store.readSync { try $0.storedResponse(actor: "b", key: "k2", since: 0) } == nil)
            #expect(try store.readSync { try $0.storedResponse(actor: "a", key: "k2", since: 201) } == nil)
        }
    }

    @Test func requestLogFeed() async throws {
        try await withStore { store, _ in
            try store.writeSync { access in
                try access.insert(
                    (0..<5).map { i in
                        RequestLogEntry(
                            requestId: "req_\(i)", routeId: i % 2 == 0 ? "a" : "b", ts: Int64(i), method: "GET",
                            path: "/\(i)", statusCode: 200 + i)
                    })
            }
            let first = try store.readSync { try $0.requestLogFeed(after: 0, limit: 2, filter: RequestLogFilter()) }
            #expect(first.map(\.requestId) == ["req_0", "req_1"])
            let next = try store.readSync {
                try $0.requestLogFeed(after: first[1].seq, limit: 10, filter: RequestLogFilter(routeId: "a"))
            }
            #expect(next.map(\.requestId) == ["req_2", "req_4"])
            #expect(try store.readSync { try $0.requestLog(requestId: "req_3") }?.statusCode == 203)
        }
    }
}

extension String {
    static func fetchOne(_ access: any StoreTransaction, _ sql: String) throws -> String? { try access.scalar(sql) }
}

@Suite struct RequestLogInsertTests {
    /// The writer binds values straight into SQLite from one shared buffer per statement: every field of every row
    /// comes back as written, across full 50-row statements and a shorter last one; empty text stays empty (not NULL),
    /// absent values stay NULL, and multi-byte text keeps its bytes.
    @Test func everyFieldRoundTrips() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("live.sqlite"))
        let rows = (0..<123).map { i in
            RequestLogEntry(
                requestId: "req_\(i)", routeId: i % 3 == 0 ? nil : "rte_\(i % 5)", ts: 1_700_000_000_000 + Int64(i),
                srcIp: i % 4 == 0 ? nil : "10.0.0.\(i % 250)", method: ["GET", "POST", "DELETE"][i % 3],
                path: i % 7 == 0 ? "" : "/v1/ünïcødé/\(i)?q=✓", statusCode: i % 11 == 0 ? nil : 200 + i % 300,
                latencyMs: i, upstreamLatencyMs: i % 2 == 0 ? nil : i / 2,
                upstreamHost: i % 2 == 0 ? nil : "api.example.test",
                upstreamStatus: i % 5 == 0 ? nil : 201, error: i % 6 == 0 ? "rate_limited" : nil,
                environment: i % 9 == 0 ? "" : "production", rateLimited: i % 6 == 0,
                signatureValid: i % 3 == 0 ? nil : i % 2 == 0, matchedClientId: i % 8 == 0 ? "cli_\(i)" : nil,
                identificationMethod: i % 8 == 0 ? "client_ip" : "api_key", apiKeyId: i % 8 == 0 ? nil : "key_\(i % 4)",
                proxyMode: "route", clientOrigin: i % 10 == 0 ? "sdk_intercept" : "direct",
                requestHeaders: i % 4 == 1 ? nil : "Accept: */*\nX-Note: " + String(repeating: "é", count: i))
        }
        try await store.write { try $0.insert(rows) }
        let stored = try await store.read { try $0.requestLogsAfter(0, limit: 1000) }
        #expect(stored.count == rows.count)
        for (i, (written, read)) in zip(rows, stored).enumerated() {
            var expected = written
            expected.seq = read.seq
            #expect(read == expected, "row \(i)")
        }
        #expect(stored.map(\.seq) == Array(stored[0].seq..<(stored[0].seq + Int64(rows.count))))
    }
}
