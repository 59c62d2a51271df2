import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

/// The data plane in the real binary.
@Suite(.serialized) struct DataPlaneProcessTests {
    func admin(_ dir: TempDirectory) throws -> String {
        try Knoxcall.run(["keys", "create", "--name", "t", "--data-dir", dir.path]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    func post(_ port: Int, _ key: String, _ path: String, _ body: String) async throws -> RawHTTP.Response {
        try await blocking {
            try RawHTTP.request(
                port: port, method: "POST", path: path,
                headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json"], body: body)
        }
    }

    /// A 200 MiB upload streams through: the process's peak memory grows by less than 64 MiB.
    @Test func largeUploadStreamsInBoundedMemory() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let key = try admin(dir)
        let upstream = try TestUpstream()
        defer { upstream.stop() }
        let server = try await blocking { try ServerProcess(dataDir: dir.path) }
        defer { server.stop() }
        #expect(
            try await post(
                server.livePort, key, "/v1/routes", #"{"name":"Upload","target_base_url":"\#(upstream.url)"}"#
            ).status == 201)
        _ = try await blocking {
            try RawHTTP.request(
                port: server.liveProxyPort, method: "GET", path: "/",
                headers: ["x-knoxcall-key": key, "x-knoxcall-route": "upload"])
        }
        let before = server.memoryKB("VmHWM")
        let total = 200 << 20
        let port = server.liveProxyPort
        let response = try await blocking { () -> RawHTTP.Response in
            let client = try RawHTTP(port: port)
            defer { client.close() }
            client.send(
                "POST /count HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: upload\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: \(total)\r\n\r\n")
            let chunk = [UInt8](repeating: 0x61, count: 1 << 20)
            for _ in 0..<200 { guard client.send(chunk) else { break } }
            return try client.readResponse()
        }
        #expect(response.status == 200)
        #expect((try? JSONValue.parse(response.body))?["bytes"]?.intValue == total)
        let after = server.memoryKB("VmHWM")
        #expect(before > 0)
        #expect(after - before < 64 * 1024, "peak RSS grew by \(after - before) kB")
    }

    /// A planted secret value never appears in the process's own output, whatever the traffic.
    @Test func plantedSecretNeverInProcessOutput() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let key = try admin(dir)
        let upstream = try TestUpstream()
        defer { upstream.stop() }
        let server = try await blocking {
            try ServerProcess(dataDir: dir.path, extraArguments: ["--log-level", "trace"])
        }
        let planted = "PLANTED-\(UUID().uuidString)"
        #expect(
            try await post(server.livePort, key, "/v1/secrets", #"{"name":"PLANT","value":"\#(planted)"}"#).status
                == 201)
        #expect(
            try await post(
                server.livePort, key, "/v1/routes",
                #"{"name":"R","target_base_url":"\#(upstream.url)","inject_headers_json":{"X-S":"{{secret:PLANT}}"}}"#
            ).status == 201)
        #expect(
            try await post(
                server.livePort, key, "/v1/routes",
                #"{"name":"Down","target_base_url":"http://127.0.0.1:1","inject_headers_json":{"X-S":"{{secret:PLANT}}"}}"#
            ).status == 201)
        let port = server.liveProxyPort
        for route in ["r", "down", "missing"] {
            _ = try await blocking {
                try RawHTTP.request(
                    port: port, method: "GET", path: "/", headers: ["x-knoxcall-key": key, "x-knoxcall-route": route])
            }
        }
        #expect(upstream.requests.first?.header("X-S") == planted)
        server.stop()
        #expect(!server.capturedOutput.contains(planted))
        #expect(!server.capturedOutput.contains(String(key.split(separator: "_").last ?? "")))
    }

    /// Descriptors the process holds now.
    func openDescriptors(_ server: ServerProcess) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.process.pid)/fd").count) ?? -1
    }

    /// 10,000 connections that send nothing and 1,000 slowloris ones (a head dripped a byte at a time) held against the
    /// real binary: it holds them all, normal requests meanwhile stay under 50 ms, and once they are gone the server's
    /// descriptors are back where they were (issue 21, point 3). That the gateway itself closes such connections at the
    /// head timeout is shown in process (`ConnectionLimitTests`): accepting 11,000 connections takes a debug build about
    /// ten seconds here, so the timeout is set past that.
    @Test func idleAndSlowlorisConnectionsAreHeldWhileRequestsFlow() async throws {
        try await DescriptorHeavy.exclusively {
            let dir = TempDirectory()
            defer { dir.remove() }
            try "[data_plane]\nmax_connections = 12000\nhead_timeout_sec = 60\n".write(
                toFile: dir.file("config.toml"), atomically: true, encoding: .utf8)
            let key = try admin(dir)
            let upstream = try TestUpstream()
            defer { upstream.stop() }
            let server = try await blocking { try ServerProcess(dataDir: dir.path) }
            defer { server.stop() }
            #expect(
                try await post(
                    server.livePort, key, "/v1/routes", #"{"name":"R","target_base_url":"\#(upstream.url)"}"#
                ).status == 201)
            let port = server.liveProxyPort
            @Sendable func normal() throws -> (Int, TimeInterval) {
                let started = Date()
                let r = try RawHTTP.request(
                    port: port, method: "GET", path: "/", headers: ["x-knoxcall-key": key, "x-knoxcall-route": "r"])
                return (r.status, Date().timeIntervalSince(started))
            }
            _ = try await blocking { try normal() }  // warm: the upstream connection exists
            let baseline = openDescriptors(server)
            let pid = server.process.pid
            // Waits until the server holds `count` more descriptors than at the start (it accepts as fast as it can).
            @Sendable func held(_ count: Int) -> Bool {
                let deadline = Date().addingTimeInterval(30)
                while Date() < deadline {
                    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
                    if open >= baseline + count { return true }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                return false
            }
            let (clients, answers, allHeld) = try await blocking { () -> ([RawHTTP], [(Int, TimeInterval)], Bool) in
                var answers: [(Int, TimeInterval)] = []
                let idle = try (0..<10_000).map { _ in try RawHTTP(port: port) }
                var allHeld = held(10_000)
                for _ in 0..<3 { answers.append(try normal()) }
                let slow = try (0..<1_000).map { _ in try RawHTTP(port: port) }
                allHeld = held(11_000) && allHeld
                let head = Array("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
                for round in 0..<4 {
                    for client in slow { client.send([head[round]]) }
                    Thread.sleep(forTimeInterval: 0.1)
                    answers.append(try normal())
                    Thread.sleep(forTimeInterval: 0.4)
                }
                return (idle + slow, answers, allHeld)
            }
            #expect(allHeld, "the gateway did not come to hold all 11,000 connections")
            #expect(answers.allSatisfy { $0.0 == 200 })
            #expect(answers.allSatisfy { $0.1 < 0.05 }, "normal requests took \(answers.map(\.1)) s")
            for c in clients { c.close() }
            let settling = Date()
            while openDescriptors(server) > baseline + 2 && Date().timeIntervalSince(settling) < 5 {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(
                openDescriptors(server) <= baseline + 2,
                "descriptors: \(baseline) before, \(openDescriptors(server)) after")
            #expect(try await blocking { try normal() }.1 < 0.05)
        }
    }
}
