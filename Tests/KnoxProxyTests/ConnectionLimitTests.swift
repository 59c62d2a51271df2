import Foundation
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

@testable import KnoxProxy

#if canImport(Glibc)
    import Glibc
#endif

/// Connections that send nothing, send too slowly, or come in too many are cut off, and a slow upload is not mistaken
/// for a slow upstream (issue 20, points 6 and 7).
@Suite(.serialized) struct ConnectionLimitTests {
    /// A connected socket that sends `bytes` (if any) and then nothing.
    private static func silent(_ port: Int, sending bytes: String = "") throws -> RawHTTP {
        let client = try RawHTTP(port: port)
        if !bytes.isEmpty { client.send(bytes) }
        return client
    }

    @Test func silentConnectionsAreClosedByTheHeadTimeoutWhileOthersAreServed() async throws {
        try await DescriptorHeavy.exclusively {
            let p = try await ProxyFixture(config: try KnoxConfig.parse("[data_plane]\nhead_timeout_sec = 3\n"))
            try await p.route("R")
            #expect(try await p.call(route: "r").status == 200)  // the upstream connection is open before the clock runs
            let port = p.port
            let key = p.key
            let clients = try await blocking {
                try (0..<2000).map { i in try Self.silent(port, sending: i % 2 == 0 ? "" : "GET / HT") }
            }
            defer { for c in clients { c.close() } }
            // Once the gateway has accepted them all (which takes a moment, and on a loaded machine long enough for the
            // first to reach their head timeout already), normal requests are answered at once while they hang there.
            let stats = p.engine.connectionStats
            @Sendable func accepted() -> Int { p.proxy.openConnections + stats.snapshot().headTimeouts }
            let accepting = Date()
            while accepted() < 2000 && Date().timeIntervalSince(accepting) < 5 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(accepted() >= 2000)
            let timings = try await blocking {
                try (0..<5).map { _ in
                    let started = Date()
                    let normal = try RawHTTP.request(
                        port: port, method: "GET", path: "/", headers: ["x-knoxcall-key": key, "x-knoxcall-route": "r"])
                    return (normal.status, Date().timeIntervalSince(started))
                }
            }
            #expect(timings.allSatisfy { $0.0 == 200 })
            let slowest = timings.map(\.1).max() ?? 0
            #expect(slowest < 0.05, "requests took \(timings.map(\.1)) s next to 2,000 silent connections")
            // Within the head timeout (and the sweep's 200 ms) every silent connection is closed by the gateway (those
            // that sent part of a head get a 408 first).
            let closed = try await blocking { clients.filter { $0.closedAfterDraining(within: 4) }.count }
            #expect(closed == 2000)
            #expect(p.engine.connectionStats.snapshot().headTimeouts >= 2000)
            #expect(try await p.call(route: "r").status == 200)

        }
    }

    @Test func aPartialHeadGets408AndIdleKeepAliveConnectionsClose() async throws {
        let p = try await ProxyFixture(
            config: try KnoxConfig.parse("[data_plane]\nhead_timeout_sec = 1\nidle_timeout_sec = 1\n"))
        try await p.route("R")
        let port = p.port
        let key = p.key
        try await blocking {
            let partial = try Self.silent(port, sending: "GET / HTTP/1.1\r\nHost: x\r\n")
            defer { partial.close() }
            let answer = try partial.readResponse()
            #expect(answer.status == 408)
            #expect(partial.peerClosed(within: 2))
            // A keep-alive connection that goes quiet after its answer is closed by the idle timeout.
            let idle = try RawHTTP(port: port)
            defer { idle.close() }
            idle.send("GET / HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n")
            #expect(try idle.readResponse().status == 200)
            #expect(idle.peerClosed(within: 3))
        }
        let stats = p.engine.connectionStats.snapshot()
        #expect(stats.headTimeouts >= 1 && stats.idleClosed >= 1)
    }

    /// A head dripped a byte at a time (slowloris) is cut at the head timeout counted from its first byte: the drip
    /// does not push the deadline back.
    @Test func aDrippedHeadIsCutAtTheHeadTimeout() async throws {
        let p = try await ProxyFixture(config: try KnoxConfig.parse("[data_plane]\nhead_timeout_sec = 1\n"))
        let port = p.port
        let (answer, elapsed) = try await blocking { () -> (RawHTTP.Response?, TimeInterval) in
            let client = try RawHTTP(port: port)
            defer { client.close() }
            let started = Date()
            for byte in Array("GET / HTTP/1.1\r\nHost: x\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8) {
                guard client.send([byte]) else { break }
                usleep(100_000)
                if Date().timeIntervalSince(started) > 3 { break }
            }
            return (try? client.readResponse(), Date().timeIntervalSince(started))
        }
        #expect(answer?.status == 408)
        #expect(elapsed < 2.5, "the drip kept the head open for \(elapsed) s")
    }

    @Test func aStalledBodyIsCutOff() async throws {
        let p = try await ProxyFixture(config: try KnoxConfig.parse("[data_plane]\nbody_stall_timeout_sec = 1\n"))
        try await p.route("R")
        let port = p.port
        let key = p.key
        let answer = try await blocking {
            let client = try Self.silent(
                port,
                sending: "POST /up HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n0123456789")
            defer { client.close() }
            return try client.readResponse()
        }
        #expect(answer.status == 408 && answer.errorType == "request_timeout")
        let logs = try await p.logs()
        #expect(logs.last?.error == "request_timeout")
        #expect(p.engine.connectionStats.snapshot().bodyStalls == 1)
    }

    @Test func connectionsPastTheCapAreRefused() async throws {
        let p = try await ProxyFixture(config: try KnoxConfig.parse("[data_plane]\nmax_connections = 20\n"))
        try await p.route("R")
        let port = p.port
        let held = try await blocking { try (0..<20).map { _ in try Self.silent(port) } }
        // Give the gateway a moment to count them (accepting is asynchronous).
        try await Task.sleep(for: .milliseconds(200))
        let refused = try await p.call(route: "r")
        #expect(refused.status == 503 && refused.errorType == "too_many_connections")
        #expect(refused.header("Retry-After") != nil)
        for c in held { c.close() }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await p.call(route: "r").status == 200)
        #expect(p.engine.connectionStats.snapshot().refusedAtCap >= 1)
    }

    /// 600 KB at 100 KB/s takes six seconds to send; the answer timeout (3 s) starts when the body is in.
    @Test func aSlowUploadIsNotTakenForASlowUpstream() async throws {
        let p = try await ProxyFixture()
        try await p.route("Up", extra: #""upstream_timeout_sec":3"#)
        let port = p.port
        let key = p.key
        let answer = try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            let total = 600_000
            client.send(
                "POST /count HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: up\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: \(total)\r\n\r\n")
            let piece = [UInt8](repeating: UInt8(ascii: "u"), count: 10_000)
            for _ in 0..<(total / piece.count) {
                client.send(piece)
                usleep(100_000)
            }
            return try client.readResponse()
        }
        #expect(answer.status == 200)
        #expect(answer.json["bytes"]?.intValue == 600_000)
    }

    /// An upstream that answers before the body is in: once the body's end arrives the connection is idle again, and
    /// its idle timeout applies.
    @Test func anEarlyAnswerLeavesTheConnectionIdleAfterTheBody() async throws {
        let p = try await ProxyFixture(config: try KnoxConfig.parse("[data_plane]\nidle_timeout_sec = 1\n"))
        let early = try ScriptedUpstream(answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        defer { early.stop() }
        _ = try await p.engine.createRoute(json(#"{"name":"Early","target_base_url":"\#(early.url)"}"#), console)
        let port = p.port
        let key = p.key
        try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            client.send(
                "POST /up HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: early\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\n01234")
            #expect(try client.readResponse().status == 200)
            client.send("56789")
            #expect(client.closedAfterDraining(within: 4))
        }
        #expect(p.engine.connectionStats.snapshot().idleClosed >= 1)
    }

    /// An upstream that stops reading a streamed upload: the caller is not blamed (no 408); the answer is a 504 once
    /// the rest of the body is in.
    @Test func anUpstreamThatStopsReadingTheBodyGets504() async throws {
        let p = try await ProxyFixture(config: try KnoxConfig.parse("[data_plane]\nbody_stall_timeout_sec = 1\n"))
        let deaf = try ScriptedUpstream(answer: "", reads: false)
        defer { deaf.stop() }
        _ = try await p.engine.createRoute(json(#"{"name":"Deaf","target_base_url":"\#(deaf.url)"}"#), console)
        let port = p.port
        let key = p.key
        let answer = try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            let total = 16 << 20
            client.send(
                "POST /up HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: deaf\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: \(total)\r\n\r\n")
            let piece = [UInt8](repeating: 0x61, count: 1 << 20)
            for _ in 0..<16 { guard client.send(piece) else { break } }
            return try client.readResponse()
        }
        #expect(answer.status == 504 && answer.errorType == "upstream_timeout")
        #expect(p.engine.connectionStats.snapshot().bodyStalls == 0)
    }

    /// A caller that stops reading a long answer is cut off after the body-stall timeout (its upstream held
    /// meanwhile), and counted.
    @Test func aCallerThatStopsReadingIsCutOff() async throws {
        let p = try await ProxyFixture(config: try KnoxConfig.parse("[data_plane]\nbody_stall_timeout_sec = 1\n"))
        try await p.route("R")
        let port = p.port
        let key = p.key
        try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            client.send(
                "GET /big?bytes=200000000 HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n")
            sleep(3)
            #expect(client.closedAfterDraining(within: 5))
        }
        #expect(p.engine.connectionStats.snapshot().readerStalls == 1)
        #expect(try await p.logs().last?.error == "client_closed_request")
    }
}
