import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct ServeTests {
    func key(_ dir: TempDirectory, test: Bool = false) throws -> String {
        try Knoxcall.adminKey(dataDir: dir.path, test: test)
    }

    @Test func servesBothModesAndStopsOnSIGTERM() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let liveKey = try key(dir)
        let testKey = try key(dir, test: true)
        let server = try await blocking { try ServerProcess(dataDir: dir.path) }
        let (live, test, wrong) = try await blocking {
            (
                try RawHTTP.request(
                    port: server.livePort, method: "GET", path: "/v1/account", headers: ["x-api-key": liveKey]),
                try RawHTTP.request(
                    port: server.testPort, method: "GET", path: "/v1/account", headers: ["x-api-key": testKey]),
                try RawHTTP.request(
                    port: server.livePort, method: "GET", path: "/v1/account", headers: ["x-api-key": testKey])
            )
        }
        #expect(try JSONValue.parse(live.body)["data"]?["sandbox"] == false)
        #expect(try JSONValue.parse(test.body)["data"]?["sandbox"] == true)
        #expect(wrong.status == 403)
        #expect(server.stop() == 0)
        #expect(!server.capturedOutput.contains(liveKey))
    }

    @Test func sigtermDoesNotWaitForIdleConnections() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let liveKey = try key(dir)
        let server = try await blocking { try ServerProcess(dataDir: dir.path) }
        let client = try RawHTTP(port: server.livePort)
        defer { client.close() }
        let r = try await blocking {
            client.send("GET /v1/account HTTP/1.1\r\nHost: x\r\nx-api-key: \(liveKey)\r\n\r\n")
            return try client.readResponse()
        }
        #expect(r.status == 200)
        let started = Date()
        #expect(server.stop() == 0)
        #expect(Date().timeIntervalSince(started) < 5, "an idle keep-alive connection held the shutdown up")
    }

    /// SIGTERM while requests are in flight on both faces: they finish with their answers, new connections are not
    /// accepted, idle ones close, every answered request has its log row, and the exit status is 0 (issue 21, point 6).
    @Test func sigtermLetsRequestsInFlightFinish() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let liveKey = try key(dir)
        let upstream = try TestUpstream()
        defer { upstream.stop() }
        let server = try await blocking { try ServerProcess(dataDir: dir.path) }
        let created = try await blocking {
            try RawHTTP.request(
                port: server.livePort, method: "POST", path: "/v1/routes",
                headers: ["Authorization": "Bearer \(liveKey)", "Content-Type": "application/json"],
                body: #"{"name":"Slow","target_base_url":"\#(upstream.url)"}"#)
        }
        #expect(created.status == 201)
        let proxy = server.liveProxyPort
        // A keep-alive connection that has been answered once and now sits idle.
        let idle = try RawHTTP(port: proxy)
        defer { idle.close() }
        let warm = try await blocking { () -> RawHTTP.Response in
            idle.send("GET / HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(liveKey)\r\nx-knoxcall-route: slow\r\n\r\n")
            return try idle.readResponse()
        }
        #expect(warm.status == 200)
        // Three slow requests in flight (1.5 s at the upstream), then SIGTERM once the upstream has all three.
        let inFlight = (0..<3).map { _ in
            Task {
                try await blocking {
                    try RawHTTP.request(
                        port: proxy, method: "GET", path: "/slow?ms=1500",
                        headers: ["x-knoxcall-key": liveKey, "x-knoxcall-route": "slow"])
                }
            }
        }
        let waiting = Date()
        while upstream.requests.count < 4 && Date().timeIntervalSince(waiting) < 5 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(upstream.requests.count == 4)
        let started = Date()
        server.process.signal(SIGTERM)
        // Stopped accepting: within a moment a new connection is refused.
        let refused = try await blocking { () -> Bool in
            let deadline = Date().addingTimeInterval(3)
            while Date() < deadline {
                guard let client = try? RawHTTP(port: proxy) else { return true }
                client.close()
                Thread.sleep(forTimeInterval: 0.02)
            }
            return false
        }
        #expect(refused, "the data plane still accepted connections after SIGTERM")
        #expect(try await blocking { idle.closedAfterDraining(within: 2) }, "an idle keep-alive connection stayed open")
        var ids: [String] = []
        for task in inFlight {
            let answer = try await task.value
            #expect(answer.status == 200)
            #expect(answer.header("Connection")?.lowercased() == "close")  // the last answer on its connection
            ids.append(answer.header("X-Request-Id") ?? "")
        }
        #expect(server.process.wait() == 0)
        #expect(Date().timeIntervalSince(started) < 10)
        // Every answered request has its row (read back through a new process).
        let restarted = try await blocking { try ServerProcess(dataDir: dir.path) }
        defer { restarted.stop() }
        for id in ids {
            let row = try await blocking {
                try RawHTTP.request(
                    port: restarted.livePort, method: "GET", path: "/v1/logs/\(id)",
                    headers: ["Authorization": "Bearer \(liveKey)"])
            }
            #expect(row.status == 200, "no log row for \(id)")
        }
    }

    @Test func keysMadeByAnotherProcessWorkWithinASecond() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        _ = try key(dir)
        let server = try await blocking { try ServerProcess(dataDir: dir.path) }
        defer { server.stop() }
        let fresh = try key(dir)
        try await Task.sleep(for: .milliseconds(1000))
        let r = try await blocking {
            try RawHTTP.request(
                port: server.livePort, method: "GET", path: "/v1/routes", headers: ["Authorization": "Bearer \(fresh)"])
        }
        #expect(r.status == 200)
        let id = try #require(
            try JSONValue.parse(try Knoxcall.run(["keys", "list", "--json", "--data-dir", dir.path]).stdout).arrayValue?
                .first { $0["key_prefix"]?.stringValue.map { fresh.hasPrefix($0) } == true }?["id"]?.stringValue)
        #expect(try Knoxcall.run(["keys", "revoke", id, "--data-dir", dir.path]).status == 0)
        try await Task.sleep(for: .milliseconds(1000))
        let revoked = try await blocking {
            try RawHTTP.request(
                port: server.livePort, method: "GET", path: "/v1/routes", headers: ["Authorization": "Bearer \(fresh)"])
        }
        #expect(revoked.status == 401)
    }

    @Test func portInUseIsAClearError() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let first = try await blocking { try ServerProcess(dataDir: dir.path) }
        defer { first.stop() }
        let r = try Knoxcall.run([
            "serve", "--data-dir", dir.path, "--live-api", "127.0.0.1:\(first.livePort)", "--test-api", "127.0.0.1:0",
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("cannot listen on 127.0.0.1:\(first.livePort) (Live management API)"))
    }

    /// `kill -9` while writes are in flight loses nothing that was answered with a 2xx.
    @Test func killNineLosesNoAnsweredWrite() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let liveKey = try key(dir)
        let server = try await blocking { try ServerProcess(dataDir: dir.path) }
        let port = server.livePort
        let answered = try await blocking { () -> [String] in
            let lock = NSLock()
            nonisolated(unsafe) var names: [String] = []
            let group = DispatchGroup()
            for worker in 0..<4 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    for i in 0..<1000 {
                        let name = "w\(worker)-\(i)"
                        guard
                            let r = try? RawHTTP.request(
                                port: port, method: "POST", path: "/v1/clients",
                                headers: ["Authorization": "Bearer \(liveKey)", "Content-Type": "application/json"],
                                body: #"{"name":"\#(name)","ip_address":"10.0.0.1"}"#)
                        else { return }
                        if r.status == 201 {
                            lock.lock()
                            names.append(name)
                            lock.unlock()
                        }
                    }
                }.start()
            }
            Thread.sleep(forTimeInterval: 1.5)
            server.kill9()
            group.wait()
            return names
        }
        #expect(answered.count > 20, "too few writes before the kill to mean anything")
        let restarted = try await blocking { try ServerProcess(dataDir: dir.path) }
        defer { restarted.stop() }
        var stored: Set<String> = []
        var page = 1
        while true {
            let current = page
            let r = try await blocking {
                try RawHTTP.request(
                    port: restarted.livePort, method: "GET", path: "/v1/clients?per_page=100&page=\(current)",
                    headers: ["Authorization": "Bearer \(liveKey)"])
            }
            let doc = try JSONValue.parse(r.body)
            for row in doc["data"]?.arrayValue ?? [] { if let n = row["name"]?.stringValue { stored.insert(n) } }
            if page >= (doc["meta"]?["total_pages"]?.intValue ?? 0) { break }
            page += 1
        }
        let lost = Set(answered).subtracting(stored)
        #expect(lost.isEmpty, "answered 201 but lost: \(lost.sorted().prefix(5))")
    }
}
