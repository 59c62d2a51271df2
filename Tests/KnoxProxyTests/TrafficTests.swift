import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

@testable import KnoxProxy

@Suite struct TrafficTests {
    /// A data-plane key's `last_used_at` comes from its log rows when the writer stores them: unset before any call,
    /// then the time of the key's latest row, refused rows included; a key that made no call stays unset.
    @Test func keysLastUseComesFromTheirLogRows() async throws {
        let p = try await ProxyFixture()
        try await p.route("Used")
        _ = try await p.engine.makeKey("idle")
        func lastUsed(_ name: String) async throws -> JSONValue? {
            let keys = try await p.engine.listApiKeys([:], actor: .console).items
            return keys.first { $0["name"]?.stringValue == name }?["last_used_at"]
        }
        #expect(try await lastUsed("caller") == .null)
        #expect(try await p.call(route: "used").status == 200)
        #expect(try await p.call(route: "missing").status == 404)
        let rows = try await p.logs()
        #expect(rows.count == 2)
        let stored = try await p.engine.requestLogFeed(["limit": "10"], actor: .console).items
        let latest = stored.compactMap { $0["ts"]?.stringValue }.max()
        #expect(latest != nil)
        #expect(try await lastUsed("caller")?.stringValue == latest)
        #expect(try await lastUsed("idle") == .null)
    }

    /// 200 requests at once against a burst of 50: exactly 50 pass.
    @Test func rateLimitIsExactUnderConcurrency() async throws {
        let p = try await ProxyFixture()
        try await p.route(
            "Limited", extra: #""rate_limit_enabled":true,"rate_limit_requests":50,"rate_limit_window_sec":3600"#)
        let port = p.port
        let key = p.key
        let statuses = try await blocking { () -> [Int] in
            let lock = NSLock()
            nonisolated(unsafe) var results: [Int] = []
            let group = DispatchGroup()
            for _ in 0..<200 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    let status =
                        (try? RawHTTP.request(
                            port: port, method: "GET", path: "/",
                            headers: ["x-knoxcall-key": key, "x-knoxcall-route": "limited"]))?.status ?? -1
                    lock.lock()
                    results.append(status)
                    lock.unlock()
                }.start()
            }
            group.wait()
            return results
        }
        #expect(statuses.count == 200)
        #expect(statuses.filter { $0 == 200 }.count == 50)
        #expect(statuses.filter { $0 == 429 }.count == 150)
        let logs = try await p.logs()
        #expect(logs.count == 200)
        #expect(logs.filter(\.rateLimited).count == 150)
    }

    /// The limiter's figures ride on the upstream's own answers too, not only on 429s.
    @Test func rateLimitHeadersOnForwardedAnswers() async throws {
        let p = try await ProxyFixture()
        try await p.route(
            "Limited", extra: #""rate_limit_enabled":true,"rate_limit_requests":3,"rate_limit_window_sec":3600"#)
        for remaining in [2, 1, 0] {
            let r = try await p.call("GET", "/", route: "limited")
            #expect(r.status == 200)
            #expect(r.header("X-Knox-Upstream-Status") == "200")
            #expect(r.header("X-RateLimit-Limit") == "3")
            #expect(r.header("X-RateLimit-Remaining") == String(remaining))
            // Unix seconds by the engine's clock (the fixture's is fixed), at most one window ahead.
            let reset = Int64(r.header("X-RateLimit-Reset") ?? "") ?? 0
            let now = p.engine.clock.nowMillis() / 1000
            #expect(reset > now && reset <= now + 3600)
        }
        let refused = try await p.call("GET", "/", route: "limited")
        #expect(refused.status == 429)
        #expect(refused.header("X-Knox-Upstream-Status") == nil)
        #expect(Int(refused.header("Retry-After") ?? "") ?? 0 > 0)
    }

    @Test(arguments: [
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Bad\u{0}: y\r\n\r\n",
    ])
    func smugglingAttemptsNeverReachTheUpstream(_ request: String) async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let withAuth = request.replacingOccurrences(
            of: "Host: x\r\n", with: "Host: x\r\nx-knoxcall-key: \(p.key)\r\nx-knoxcall-route: r\r\n")
        let r = try await p.raw(withAuth)
        #expect(r.status == 400)
        try await Task.sleep(for: .milliseconds(100))
        #expect(p.upstream.requests.isEmpty)
        #expect(try await p.logs().first?.statusCode == 400)
    }

    @Test func everyRefusalLeavesExactlyOneLogRow() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        var ids: [String] = []
        for (route, key) in [("r", p.key), ("x", p.key), ("r", ""), ("r", "garbage")] {
            let r = try await p.call(route: route, key: key)
            ids.append(try #require(r.header("X-Request-Id")))
        }
        let logs = try await p.logs()
        #expect(logs.map(\.requestId) == ids)
        // The management API shows them within a second: the writer runs every 100 ms in the real process, here on demand.
        let rid = try #require(p.engine.snapshot.route("r")?.route.id)
        let routeLogs = try await p.engine.routeLogs(rid, [:], actor: .console)
        // Only identified callers reach the route lookup, so only their rows carry the route.
        #expect(routeLogs.total == 1)
        #expect(logs.map(\.routeId) == [rid, nil, nil, nil])
    }

    @Test func largeResponsesStreamIntact() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let r = try await p.call("GET", "/big?bytes=5000000", route: "r")
        #expect(r.status == 200)
        #expect(r.body.count == 5_000_000)
        #expect(r.body.allSatisfy { $0 == UInt8(ascii: "x") })
    }

    @Test func largeUploadsStreamWithoutPlaceholders() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let size = 3 << 20
        let body = String(repeating: "a", count: size)
        let r = try await p.call(
            "POST", "/count", route: "r", headers: ["Content-Type": "application/json"], body: body)
        #expect(r.status == 200)
        #expect(r.json["bytes"]?.intValue == size)
    }

    @Test func bodiesHeldForInjectionAreBounded() async throws {
        let p = try await ProxyFixture()
        try await p.route("R", extra: #""inject_body_json":{"a":1}"#)
        let r = try await p.call(
            "POST", "/", route: "r", headers: ["Content-Type": "application/json"],
            body: "[" + String(repeating: "1,", count: 600_000) + "1]")
        #expect(r.status == 413 && r.errorType == "payload_too_large")
        #expect(p.upstream.requests.isEmpty)
    }

    @Test func upstreamConnectionsAreReused() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let port = p.port
        let key = p.key
        try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            for _ in 0..<10 {
                client.send("GET / HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n")
                _ = try client.readResponse()
            }
        }
        let connections = Set(p.upstream.requests.map(\.connection))
        #expect(p.upstream.requests.count == 10)
        #expect(connections.count == 1)
    }

    @Test func changesApplyToTheNextRequestWithoutBreakingOnesInFlight() async throws {
        let p = try await ProxyFixture()
        let r = try await p.route("R")
        let id = try #require(r["id"]?.stringValue)
        async let slow = p.call("GET", "/slow?ms=800", route: "r")
        try await Task.sleep(for: .milliseconds(200))
        _ = try await p.engine.updateRoute(id, json(#"{"enabled":false}"#), console)
        #expect(try await p.call(route: "r").errorType == "route_not_found")
        #expect(try await slow.status == 200)
    }

    @Test func plantedSecretNeverInLogsOrErrors() async throws {
        let p = try await ProxyFixture()
        let planted = "PLANTED-\(UUID().uuidString)"
        Capture.plant(planted, kind: "secret_value")
        try await p.secret("PLANT", planted)
        try await p.route("R", extra: #""inject_headers_json":{"X-Secret":"{{secret:PLANT}}"}"#)
        _ = try await p.engine.createRoute(
            json(
                #"{"name":"Down","target_base_url":"http://127.0.0.1:1","inject_headers_json":{"X-Secret":"{{secret:PLANT}}"}}"#
            ), console)
        var bodies: [String] = []
        bodies.append(try await p.call(route: "r").header("X-Request-Id") ?? "")
        bodies.append(try await p.call(route: "down").text)
        bodies.append(
            try await p.call(
                "POST", "/", route: "r", headers: ["Content-Type": "application/json"],
                body: #"{"x":"{{secret:MISSING}}"}"#
            ).text)
        for body in bodies { #expect(!body.contains(planted)) }
        await p.engine.flushRequestLog()
        let feed = try await p.engine.requestLogFeed(["limit": "100"], actor: .console)
        #expect(!feed.items.map { $0.serialized() }.joined().contains(planted))
        #expect(feed.items.count == 3)
    }
}
