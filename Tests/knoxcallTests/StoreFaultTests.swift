import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

/// The database cannot be written (here: the process's file-size limit, lowered while it runs, which SQLite meets as
/// a full disk): writes answer `503 dependency_unavailable` and keep nothing, the data plane goes on serving from its
/// snapshot, and once the limit is lifted writes work again, without a restart (issue 21, point 8).
@Suite(.serialized) struct StoreFaultTests {
    static func limitFileSize(_ pid: Int32, _ limit: String) throws {
        let prlimit = try ChildProcess(
            "/usr/bin/prlimit", ["--pid", "\(pid)", "--fsize=\(limit)"], environment: ChildProcess.environment())
        #expect(prlimit.wait(timeout: 10) && prlimit.wait() == 0, "\(prlimit.combinedOutput)")
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }

    @Test func aFullDiskRefusesWritesAndRecoversWithoutARestart() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let key = try Knoxcall.adminKey(dataDir: dir.path)
        let upstream = try TestUpstream()
        defer { upstream.stop() }
        let server = try await blocking { try ServerProcess(dataDir: dir.path, ignoringFileSizeSignal: true) }
        let (api, proxy) = (server.livePort, server.liveProxyPort)
        @Sendable func post(_ path: String, _ body: String) throws -> RawHTTP.Response {
            try RawHTTP.request(
                port: api, method: "POST", path: path,
                headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"], body: body)
        }
        @Sendable func call() throws -> RawHTTP.Response {
            try RawHTTP.request(
                port: proxy, method: "GET", path: "/", headers: ["x-knoxcall-key": key, "x-knoxcall-route": "r"])
        }
        #expect(
            try await blocking { try post("/v1/routes", #"{"name":"R","target_base_url":"\#(upstream.url)"}"#) }.status
                == 201)
        #expect(try await blocking { try call() }.status == 200)
        // No file of the process may grow past what it holds now (plus a little).
        let largest = ["live.sqlite", "live.sqlite-wal"].map { Self.fileSize(dir.file($0)) }.max() ?? 0
        try Self.limitFileSize(server.process.pid, "\(largest + 16 * 1024):unlimited")  // the soft limit only
        let (created, refusal) = try await blocking { () -> ([String], RawHTTP.Response?) in
            var created: [String] = []
            for i in 0..<2_000 {
                let r = try post("/v1/clients", #"{"name":"c\#(i)","ip_address":"10.0.0.1"}"#)
                if r.status == 201 {
                    created.append("c\(i)")
                } else {
                    return (created, r)
                }
            }
            return (created, nil)
        }
        let refused = try #require(refusal, "2,000 writes went through under the limit")
        print("store fault: \(created.count) writes acknowledged before the limit, then \(refused.status)")
        #expect(refused.status == 503)
        #expect((try? JSONValue.parse(refused.body))?["error"]?["type"] == "dependency_unavailable")
        #expect(refused.header("Retry-After") == "5")  // not the busy database's 1
        // The data plane serves on, from its snapshot; reads work; other writes are refused the same way.
        let served = try await blocking { try call() }
        #expect(served.status == 200)
        let listed = try await blocking {
            try RawHTTP.request(
                port: api, method: "GET", path: "/v1/clients?per_page=1", headers: ["Authorization": "Bearer \(key)"])
        }
        #expect(listed.status == 200)
        #expect(try await blocking { try post("/v1/environments", #"{"name":"staging"}"#) }.status == 503)
        // Listing keys (which also writes their last use where it can) still answers.
        let keys = try await blocking {
            try RawHTTP.request(
                port: api, method: "GET", path: "/v1/api-keys", headers: ["Authorization": "Bearer \(key)"])
        }
        #expect(keys.status == 200)
        try await Task.sleep(for: .milliseconds(1500))  // the log writer has tried, and failed, more than once
        // Lifted: the next write works, in the same process.
        try Self.limitFileSize(server.process.pid, "unlimited:unlimited")
        #expect(
            try await blocking { try post("/v1/clients", #"{"name":"after","ip_address":"10.0.0.1"}"#) }.status == 201)
        // Nothing refused was half-written: exactly the acknowledged clients, and the one after.
        let total = try await blocking {
            try JSONValue.parse(
                try RawHTTP.request(
                    port: api, method: "GET", path: "/v1/clients?per_page=1",
                    headers: ["Authorization": "Bearer \(key)"]
                ).body
            )["meta"]?["total"]?.intValue
        }
        #expect(total == created.count + 1)
        let environments = try await blocking {
            try JSONValue.parse(
                try RawHTTP.request(
                    port: api, method: "GET", path: "/v1/environments", headers: ["Authorization": "Bearer \(key)"]
                ).body)
        }
        #expect(environments["data"]?.arrayValue?.count == 1)
        // The row of the request served while writes failed was kept and written once they worked.
        let id = served.header("X-Request-Id") ?? ""
        var row = 404
        for _ in 0..<50 where row != 200 {
            try await Task.sleep(for: .milliseconds(100))
            row = try await blocking {
                try RawHTTP.request(
                    port: api, method: "GET", path: "/v1/logs/\(id)", headers: ["Authorization": "Bearer \(key)"]
                ).status
            }
        }
        #expect(row == 200)
        #expect(server.stop() == 0)
        let output = server.capturedOutput
        #expect(output.contains("database write failed"))
        // The log writer said it once for the spell, and once that it recovered.
        #expect(output.components(separatedBy: "request log write failed").count - 1 == 1, "\(output)")
        #expect(output.contains("request log writes work again"))
    }
}
