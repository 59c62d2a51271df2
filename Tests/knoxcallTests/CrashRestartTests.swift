import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

/// `kill -9` at a random moment while management writes and proxied traffic run together, then a restart, five times
/// over one data directory: every acknowledged write is there, SQLite's integrity check passes, and the only request
/// log rows missing are of requests answered within the log writer's last batch window before the kill
/// (issue 21, point 5).
@Suite(.serialized) struct CrashRestartTests {
    /// Requests answered before the kill, with when (monotonic seconds).
    final class Record: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var clients: [String] = []
        private(set) var proxied: [(id: String, at: TimeInterval)] = []
        func client(_ name: String) { lock.withLock { clients.append(name) } }
        func proxied(_ id: String) { lock.withLock { proxied.append((id, ProcessInfo.processInfo.systemUptime)) } }
        var counts: (clients: Int, proxied: Int) { lock.withLock { (clients.count, proxied.count) } }
    }

    static func get(_ port: Int, _ path: String, _ key: String) throws -> JSONValue {
        let r = try RawHTTP.request(port: port, method: "GET", path: path, headers: ["Authorization": "Bearer \(key)"])
        return try JSONValue.parse(r.body)
    }

    @Test func crashesUnderMixedLoadLoseNoAcknowledgedWrite() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let key = try Knoxcall.adminKey(dataDir: dir.path)
        let upstream = try TestUpstream()
        defer { upstream.stop() }
        var acknowledgedClients: Set<String> = []
        var routeMade = false
        for round in 0..<5 {
            let server = try await blocking { try ServerProcess(dataDir: dir.path) }
            if !routeMade {
                let r = try await blocking {
                    try RawHTTP.request(
                        port: server.livePort, method: "POST", path: "/v1/routes",
                        headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"],
                        body: #"{"name":"Load","target_base_url":"\#(upstream.url)"}"#)
                }
                #expect(r.status == 201)
                routeMade = true
            }
            let record = Record()
            let (api, proxy) = (server.livePort, server.liveProxyPort)
            let killedAt = try await blocking { () -> TimeInterval in
                let group = DispatchGroup()
                for worker in 0..<2 {
                    group.enter()
                    Thread {
                        defer { group.leave() }
                        for i in 0..<100_000 {
                            let name = "r\(round)-w\(worker)-\(i)"
                            guard
                                let r = try? RawHTTP.request(
                                    port: api, method: "POST", path: "/v1/clients",
                                    headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"],
                                    body: #"{"name":"\#(name)","ip_address":"10.0.0.1"}"#)
                            else { return }
                            if r.status == 201 { record.client(name) }
                        }
                    }.start()
                    group.enter()
                    Thread {
                        defer { group.leave() }
                        for _ in 0..<1_000_000 {
                            guard
                                let r = try? RawHTTP.request(
                                    port: proxy, method: "GET", path: "/",
                                    headers: ["x-knoxcall-key": key, "x-knoxcall-route": "load"])
                            else { return }
                            if r.status == 200, let id = r.header("X-Request-Id") { record.proxied(id) }
                        }
                    }.start()
                }
                // The kill comes at a random moment once the load is under way: on a busy machine the first
                // second may see few answers, so the random wait starts when both kinds of traffic have flowed.
                let loaded = ProcessInfo.processInfo.systemUptime + 20
                while record.counts.clients <= 10 || record.counts.proxied <= 50,
                    ProcessInfo.processInfo.systemUptime < loaded
                {
                    Thread.sleep(forTimeInterval: 0.02)
                }
                Thread.sleep(forTimeInterval: Double.random(in: 0...1.2))
                let at = ProcessInfo.processInfo.systemUptime
                server.kill9()
                group.wait()
                return at
            }
            #expect(
                record.clients.count > 10 && record.proxied.count > 50,
                "round \(round): too little load to mean anything")
            acknowledgedClients.formUnion(record.clients)
            // Restart: the writes are there, the database is sound, the log lost only its last batch.
            let restarted = try await blocking { try ServerProcess(dataDir: dir.path) }
            let check = try ChildProcess(
                "/usr/bin/sqlite3", [dir.file("live.sqlite"), "PRAGMA integrity_check"],
                environment: ChildProcess.environment())
            // Its output is read to the end (wait(timeout:)) before it is looked at.
            #expect(check.wait(timeout: 30))
            #expect(
                check.wait() == 0 && check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok",
                "round \(round): \(check.combinedOutput)")
            let port = restarted.livePort
            let (stored, logged) = try await blocking { () -> (Set<String>, Set<String>) in
                var names: Set<String> = []
                var page = 1
                while true {
                    let doc = try Self.get(port, "/v1/clients?per_page=100&page=\(page)", key)
                    for row in doc["data"]?.arrayValue ?? [] { if let n = row["name"]?.stringValue { names.insert(n) } }
                    if page >= (doc["meta"]?["total_pages"]?.intValue ?? 0) { break }
                    page += 1
                }
                var ids: Set<String> = []
                var cursor = ""
                while true {
                    let doc = try Self.get(
                        port, "/v1/logs?limit=1000" + (cursor.isEmpty ? "" : "&cursor=\(cursor)"), key)
                    for row in doc["data"]?.arrayValue ?? [] {
                        if let id = row["request_id"]?.stringValue { ids.insert(id) }
                    }
                    guard let next = doc["meta"]?["next_cursor"]?.stringValue else { break }
                    cursor = next
                }
                return (names, ids)
            }
            let lostClients = acknowledgedClients.subtracting(stored)
            #expect(lostClients.isEmpty, "round \(round): answered 201 but lost: \(lostClients.sorted().prefix(5))")
            let lostRows = record.proxied.filter { !logged.contains($0.id) }
            // The writer commits every 50 ms; allow for its fsync and the scheduler on a 2-core machine.
            let early = lostRows.filter { killedAt - $0.at > 0.3 }
            #expect(
                early.isEmpty,
                "round \(round): \(early.count) of \(lostRows.count) lost rows were answered more than 300 ms before the kill"
            )
            let earliest = lostRows.map { Int((killedAt - $0.at) * 1000) }.max() ?? 0
            print(
                "crash round \(round): \(record.clients.count) writes acknowledged, \(lostClients.count) lost; "
                    + "\(record.proxied.count) requests answered, \(lostRows.count) log rows lost, the earliest answered "
                    + "\(earliest) ms before the kill")
            #expect(restarted.stop() == 0)
        }
    }
}
