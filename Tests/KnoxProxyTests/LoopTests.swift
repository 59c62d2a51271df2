import Foundation
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Logging
import NIOPosix
import Testing

@testable import KnoxProxy

/// A route never targets the gateway itself, KnoxCall's own headers cannot be injected, and a loop through another
/// proxy is cut after a few hops (issue 20, point 3).
@Suite struct LoopTests {
    private func refused(_ p: ProxyFixture, _ body: String, field: String) async {
        do {
            _ = try await p.engine.createRoute(json(body), console)
            Issue.record("accepted: \(body)")
        } catch let error as ApiError {
            #expect(error.type == .validationError, "\(body)")
            #expect(error.field == field, "\(body): \(error.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func aRouteCannotTargetTheGatewaysOwnListeners() async throws {
        let p = try await ProxyFixture()
        for host in ["127.0.0.1", "localhost", "0.0.0.0", "[::ffff:127.0.0.1]"] {
            await refused(
                p, #"{"name":"Self","target_base_url":"http://\#(host):\#(p.port)/x"}"#, field: "target_base_url")
        }
        // An override's target is checked too.
        _ = try await p.engine.createEnvironment(json(#"{"name":"staging"}"#), console)
        let route = try await p.route("Fine")
        let rid = try #require(route["id"]?.stringValue)
        do {
            _ = try await p.engine.putRouteEnvironment(
                rid, "staging", json(#"{"target_base_url":"http://127.0.0.1:\#(p.port)"}"#), console)
            Issue.record("an override targeting the gateway was accepted")
        } catch let error as ApiError {
            #expect(error.type == .validationError && error.field == "target_base_url")
        }
        #expect(p.upstream.requests.isEmpty)
    }

    @Test func aListenerBoundAfterTheRouteIsRefusedAtConnectTime() async throws {
        let p = try await ProxyFixture()
        // A free port now; a second data-plane listener of this gateway takes it after the route is saved.
        let probe = try TestUpstream()
        let port = probe.port
        probe.stop()
        _ = try await p.engine.createRoute(
            json(#"{"name":"Later","target_base_url":"http://127.0.0.1:\#(port)"}"#), console)
        let second = try ProxyServer(
            engine: p.engine, address: ListenAddress(host: "127.0.0.1", port: port), group: p.group,
            logger: Logger(label: "test"))
        _ = try await second.bind()
        defer { second.close() }
        let answer = try await p.call(route: "later")
        #expect(answer.status == 508 && answer.errorType == "loop_detected")
        let logs = try await p.logs()
        #expect(logs.last?.error == "loop_detected")
        // Nothing went through the second listener as a request of its own.
        #expect(logs.count == 1)
    }

    @Test func knoxcallsOwnHeadersCannotBeInjected() async throws {
        let p = try await ProxyFixture()
        for (i, name) in [
            "x-knoxcall-route", "X-KnoxCall-Key", "x-knoxcall-environment", "Via", "X-Forwarded-For",
            "X-Knox-Upstream-Status",
        ].enumerated() {
            await refused(
                p,
                #"{"name":"Inject \#(i)","target_base_url":"\#(p.upstream.url)","inject_headers_json":{"\#(name)":"r"}}"#,
                field: "inject_headers_json.\(name)")
        }
    }

    @Test func aLoopThroughAnotherProxyIsCut() async throws {
        let p = try await ProxyFixture()
        // Another proxy that sends everything back to this gateway, naming the route and a key (as a misconfigured
        // nginx with proxy_set_header would).
        let forwarder = try TestForwarder(
            targetPort: p.port, extra: ["x-knoxcall-route": "loop", "x-knoxcall-key": p.key])
        defer { forwarder.stop() }
        _ = try await p.engine.createRoute(
            json(#"{"name":"Loop","target_base_url":"http://127.0.0.1:\#(forwarder.port)"}"#), console)
        let maxHops = p.engine.config.maxHops
        let answer = try await p.call(route: "loop")
        #expect(answer.status == 508)
        #expect(forwarder.forwarded == maxHops)
        let logs = try await p.logs()
        #expect(logs.count == maxHops + 1)
        #expect(logs.filter { $0.error == "loop_detected" }.count == 1)
        // Every hop left a Via on the request it sent.
        #expect(p.upstream.requests.isEmpty)
    }
}
