import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import NIOCore
import NIOEmbedded
import Testing

@testable import KnoxProxy

/// The data plane's handlers on `EmbeddedChannel`s (issue 22, point 3): the caller's connection runs a real
/// `ProxyHandler`, and the upstream connection a real `UpstreamHandler` that sits idle in the loop's pool, so every
/// byte each side writes is read back in order, with no socket and no other thread. The engine behind them is real.
@Suite(.serialized) struct ProxyHandlerEmbeddedTests {
    /// A caller's connection and one pooled upstream connection on one embedded loop.
    final class Rig {
        let loop = EmbeddedEventLoop()
        let caller: EmbeddedChannel
        let upstream: EmbeddedChannel
        let connection: UpstreamConnection

        /// `poolKey`: the key of the route's target, under which the upstream connection waits in the pool.
        init(port: any DataPlanePort, poolKey: String) throws {
            let services = ProxyServices(port: port, loops: [loop], tls: nil, monotonic: SystemMonotonicClock())
            let pool = services.pool(for: loop)
            upstream = EmbeddedChannel(loop: loop)
            connection = UpstreamConnection(channel: upstream, key: poolKey)
            try upstream.pipeline.syncOperations.addHandler(UpstreamHandler(connection: connection, pool: pool))
            try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
            pool.release(connection)
            caller = EmbeddedChannel(loop: loop)
            caller.remoteAddress = try SocketAddress(ipAddress: "127.0.0.1", port: 50_000)
            try caller.pipeline.syncOperations.addHandler(ProxyHandler(services: services, pool: pool))
            try caller.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        }

        /// The caller sends `text`; the loop runs its queued tasks (the gathered flushes).
        func callerSends(_ text: String) throws {
            try caller.writeInbound(ByteBuffer(string: text))
            loop.run()
        }

        /// The upstream answers `text`.
        func upstreamSends(_ text: String) throws {
            try upstream.writeInbound(ByteBuffer(string: text))
            loop.run()
        }

        /// Everything written to that side so far, as text.
        static func written(_ channel: EmbeddedChannel) throws -> String {
            var text = ""
            while let part = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: part) }
            return text
        }

        func toUpstream() throws -> String { try Self.written(upstream) }
        func toCaller() throws -> String { try Self.written(caller) }

        func finish() {
            _ = try? caller.finish(acceptAlreadyClosed: true)
            _ = try? upstream.finish(acceptAlreadyClosed: true)
        }
    }

    /// An engine with a route `r` whose target is `http://127.0.0.1:9`, injecting a secret as a header; the caller's key.
    static func engine(extra: String = "") async throws -> (EngineFixture, Engine, String, String) {
        let fixture = try EngineFixture()
        let engine = try fixture.engine(.live)
        let key = try await engine.makeKey("caller")
        _ = try await engine.createSecret(["name": "token", "value": "planted-embedded-Zq81"], console)
        let body =
            #"{"name":"r","target_base_url":"http://127.0.0.1:9/base","inject_headers_json":{"X-Token":"{{secret:token}}"}\#(extra)}"#
        _ = try await engine.createRoute(try JSONValue.parse(body), console)
        // RoutePlan's key for the target: scheme, host and port.
        return (fixture, engine, key, "http://127.0.0.1:9")
    }

    @Test func aRequestGoesUpstreamWithItsSecretAndTheAnswerComesBackOnce() async throws {
        let (fixture, engine, key, poolKey) = try await Self.engine()
        defer { fixture.dir.remove() }
        try {
            let rig = try Rig(port: engine, poolKey: poolKey)
            defer { rig.finish() }
            try rig.callerSends(
                "GET /items?q=1 HTTP/1.1\r\nHost: gw\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n")
            let sent = try rig.toUpstream()
            #expect(sent.hasPrefix("GET /base/items?q=1 HTTP/1.1\r\n"))
            #expect(sent.contains("\r\nX-Token: planted-embedded-Zq81\r\n"))
            #expect(!sent.lowercased().contains("x-knoxcall-key"))
            #expect(try rig.toCaller() == "", "nothing is answered before the upstream answers")
            try rig.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
            let answer = try rig.toCaller()
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(answer.hasSuffix("\r\n\r\nhello"))
            #expect(answer.contains("\r\nX-Request-Id: req_"))
            #expect(!answer.contains("planted-embedded-Zq81"))
            // The connection went back to the pool: a second request reuses it.
            try rig.callerSends(
                "GET /again HTTP/1.1\r\nHost: gw\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n")
            #expect(try rig.toUpstream().hasPrefix("GET /base/again HTTP/1.1\r\n"))
            try rig.upstreamSends("HTTP/1.1 204 No Content\r\n\r\n")
            #expect(try rig.toCaller().hasPrefix("HTTP/1.1 204 No Content\r\n"))
        }()
        let rows = try await Self.rows(engine)
        #expect(rows.map(\.status) == [200, 204])
        #expect(rows.allSatisfy { $0.error == nil })
    }

    @Test func aRefusalAtTheHeadNeverReachesTheUpstream() async throws {
        let (fixture, engine, _, poolKey) = try await Self.engine()
        defer { fixture.dir.remove() }
        try {
            let rig = try Rig(port: engine, poolKey: poolKey)
            defer { rig.finish() }
            // A bad key with a body: the refusal waits for the body's end, then goes out; nothing goes upstream.
            try rig.callerSends(
                "POST / HTTP/1.1\r\nHost: gw\r\nx-knoxcall-key: kc_live_nope\r\nx-knoxcall-route: r\r\nContent-Length: 4\r\n\r\nab"
            )
            #expect(try rig.toCaller() == "")
            try rig.callerSends("cd")
            let answer = try rig.toCaller()
            #expect(answer.hasPrefix("HTTP/1.1 401 "))
            #expect(try rig.toUpstream() == "")
        }()
        let rows = try await Self.rows(engine)
        #expect(rows.map(\.status) == [401])
    }

    @Test func anUpstreamThatClosesMidAnswerCutsTheCallerAndLogsOnce() async throws {
        let (fixture, engine, key, poolKey) = try await Self.engine()
        defer { fixture.dir.remove() }
        try {
            let rig = try Rig(port: engine, poolKey: poolKey)
            defer { rig.finish() }
            try rig.callerSends("GET / HTTP/1.1\r\nHost: gw\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n")
            _ = try rig.toUpstream()
            try rig.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
            #expect(try rig.toCaller().hasSuffix("half"))
            rig.upstream.close(promise: nil)
            rig.loop.run()
            #expect(!rig.caller.isActive, "a cut answer ends the caller's connection")
        }()
        let rows = try await Self.rows(engine)
        #expect(rows.map(\.status) == [200])
        #expect(rows.map(\.error) == ["upstream_unreachable"])
    }

    @Test func aMalformedAnswerBeforeItsHeadIsA502WithTheConnectionDropped() async throws {
        let (fixture, engine, key, poolKey) = try await Self.engine()
        defer { fixture.dir.remove() }
        try {
            let rig = try Rig(port: engine, poolKey: poolKey)
            defer { rig.finish() }
            try rig.callerSends("GET / HTTP/1.1\r\nHost: gw\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n")
            _ = try rig.toUpstream()
            try rig.upstreamSends("NOT HTTP AT ALL\r\n\r\n")
            let answer = try rig.toCaller()
            #expect(answer.hasPrefix("HTTP/1.1 502 "))
            #expect(answer.contains("upstream_invalid_response"))
            #expect(!rig.upstream.isActive)
            #expect(rig.caller.isActive, "the caller's connection goes on")
        }()
        let rows = try await Self.rows(engine)
        #expect(rows.map(\.error) == ["upstream_invalid_response"])
    }

    @Test func theCallerGoingAwayMidRequestLogsA499AndDropsTheUpstream() async throws {
        let (fixture, engine, key, poolKey) = try await Self.engine()
        defer { fixture.dir.remove() }
        try {
            let rig = try Rig(port: engine, poolKey: poolKey)
            defer { rig.finish() }
            try rig.callerSends(
                "POST / HTTP/1.1\r\nHost: gw\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nsome"
            )
            let sent = try rig.toUpstream()
            #expect(
                sent.hasPrefix("POST /base/ HTTP/1.1\r\n") && sent.hasSuffix("some"), "a streamed body goes as it comes"
            )
            rig.caller.close(promise: nil)
            rig.loop.run()
            #expect(!rig.upstream.isActive, "a half-sent request's upstream connection is not reused")
        }()
        let rows = try await Self.rows(engine)
        #expect(rows.map(\.status) == [499])
        #expect(rows.map(\.error) == ["client_closed_request"])
    }

    /// The rows logged, oldest first: (status, error).
    static func rows(_ engine: Engine) async throws -> [(status: Int?, error: String?)] {
        await engine.flushRequestLog()
        return try await engine.requestLogFeed(["limit": "100"], actor: .console).items.map { row in
            (row["status_code"]?.intValue, row["error"]?.stringValue)
        }
    }
}
