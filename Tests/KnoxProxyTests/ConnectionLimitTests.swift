import Foundation
import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import NIOCore
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
            // The upstream connection is open before the clock runs.
            #expect(try await p.call(route: "r").status == 200)
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

    /// A 3 s head timeout: the idle connection's deadline runs from its accept, and a test thread held off the CPU
    /// between `connect` and `send` for longer than the timeout would rightly be closed without an answer.
    @Test func aPartialHeadGets408AndIdleKeepAliveConnectionsClose() async throws {
        let p = try await ProxyFixture(
            config: try KnoxConfig.parse("[data_plane]\nhead_timeout_sec = 3\nidle_timeout_sec = 1\n"))
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

    /// An upstream that never completes the TCP handshake: the connect is given up after
    /// `[data_plane] upstream_connect_timeout_sec` (not after the route's answer timeout, nor the system's own connect
    /// timeout), answered 502 `upstream_unreachable` and logged.
    @Test func anUpstreamThatAcceptsNoConnectionIsGivenUpAtTheConnectTimeout() async throws {
        let p = try await ProxyFixture(
            config: try KnoxConfig.parse("[data_plane]\nupstream_connect_timeout_sec = 1.5\n"))
        let unanswered = try UnansweredPort()
        defer { unanswered.close() }
        try #require(unanswered.swallowsConnects(), "a connect to a full accept queue was answered on this kernel")
        let target = "http://127.0.0.1:\(unanswered.port)"
        _ = try await p.engine.createRoute(
            json(#"{"name":"Unanswered","target_base_url":"\#(target)","upstream_timeout_sec":30}"#), console)
        let started = Date()
        let answer = try await p.call(route: "unanswered")
        let elapsed = Date().timeIntervalSince(started)
        #expect(answer.status == 502 && answer.errorType == "upstream_unreachable")
        #expect(elapsed >= 1.4 && elapsed < 4, "answered after \(elapsed) s with a 1.5 s connect timeout")
        let row = try #require(try await p.logs().last)
        #expect(row.error == "upstream_unreachable" && row.statusCode == 502)
        #expect(row.upstreamStatus == nil)
    }

    /// The documented defaults (README "Connections", DECISIONS "Connection timeouts"): a head within 10 s, 60 s idle
    /// between keep-alive requests and a body that pauses at most 30 s, on both kinds of listener, and 10 s to connect
    /// to an upstream. An empty config.toml, or empty tables, keeps them, and the data plane runs with them.
    @Test func theTimeoutsDefaultToTenSixtyAndThirtySeconds() async throws {
        let configs = try [KnoxConfig(), KnoxConfig.parse(""), KnoxConfig.parse("[data_plane]\n[management]\n")]
        for config in configs {
            for limits in [config.dataPlaneLimits, config.managementLimits] {
                #expect(limits.headTimeoutSec == 10)
                #expect(limits.idleTimeoutSec == 60)
                #expect(limits.bodyStallTimeoutSec == 30)
                #expect(limits.maxConnections == nil)
            }
            #expect(config.upstreamConnectTimeoutSec == 10)
        }
        let p = try await ProxyFixture()
        let deadlines = p.proxy.services.deadlines
        #expect(deadlines.head == 10_000_000_000)
        #expect(deadlines.idle == 60_000_000_000)
        #expect(deadlines.bodyStall == 30_000_000_000)
        #expect(p.proxy.services.connectTimeout == .seconds(10))
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

/// A loopback port where a TCP connect is neither accepted nor refused: a listener with a backlog of 0
/// (`listen(fd, 0)`) that never accepts, its one queue slot taken by a connection made here. Linux then drops every
/// further SYN (the accept queue is full), so a connect to the port hangs until the connector gives up.
private struct UnansweredPort {
    let port: Int
    private let listener: Int32
    private let fillers: [Int32]

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
        }
        guard bound == 0, listen(fd, 0) == 0 else {
            Glibc.close(fd)
            throw TestFailure("bind or listen failed")
        }
        var named = sockaddr_in()
        var length = size
        let gotName = withUnsafeMutablePointer(to: &named) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard gotName == 0 else {
            Glibc.close(fd)
            throw TestFailure("getsockname failed")
        }
        let port = Int(UInt16(bigEndian: named.sin_port))
        // The first connect takes the queue's one slot; the second's SYN is already dropped.
        let fillers = (0..<2).map { _ in UnansweredPort.connectWithoutWaiting(port) }
        usleep(100_000)
        listener = fd
        self.port = port
        self.fillers = fillers
    }

    /// Starts a connect to `port` on loopback and returns at once (a non-blocking socket).
    private static func connectWithoutWaiting(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) }
        }
        return fd
    }

    /// Whether a new connect to the port is still unanswered after `milliseconds` (the kernel drops its SYN).
    func swallowsConnects(milliseconds: Int32 = 300) -> Bool {
        let probe = Self.connectWithoutWaiting(port)
        defer { Glibc.close(probe) }
        var entry = pollfd(fd: probe, events: Int16(POLLOUT), revents: 0)
        return poll(&entry, 1, milliseconds) == 0
    }

    func close() {
        for fd in fillers { Glibc.close(fd) }
        Glibc.close(listener)
    }
}
