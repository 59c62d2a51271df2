import Foundation
import KnoxCore
import KnoxDataPlane
import KnoxTestSupport
import Logging
import NIOPosix
import Testing

@testable import KnoxEngine
@testable import KnoxProxy

/// A route never targets the gateway itself, KnoxCall's own headers cannot be injected, and a loop through another
/// proxy is cut after a few hops (issue 20, point 3).
@Suite struct LoopTests {
    @discardableResult
    private func refused(_ p: ProxyFixture, _ body: String, field: String) async -> ApiError? {
        do {
            _ = try await p.engine.createRoute(json(body), console)
            Issue.record("accepted: \(body)")
        } catch let error as ApiError {
            #expect(error.type == .validationError, "\(body)")
            #expect(error.field == field, "\(body): \(error.message)")
            return error
        } catch {
            Issue.record("\(error)")
        }
        return nil
    }

    @Test func aRouteCannotTargetTheGatewaysOwnListeners() async throws {
        let p = try await ProxyFixture()
        for host in ["127.0.0.1", "localhost", "0.0.0.0", "[::ffff:127.0.0.1]"] {
            await refused(
                p, #"{"name":"Self","target_base_url":"http://\#(host):\#(p.port)/x"}"#, field: "target_base_url")
        }
        // The management listeners count too (here as configured: 8700 and 8701 on loopback), both modes'.
        await refused(p, #"{"name":"Api","target_base_url":"http://127.0.0.1:8700/v1"}"#, field: "target_base_url")
        await refused(p, #"{"name":"Other side","target_base_url":"http://localhost:8801"}"#, field: "target_base_url")
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
            port: p.engine, address: ListenAddress(host: "127.0.0.1", port: port), group: p.group,
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

    @Test func viaEntriesOfKnoxCallAreCounted() {
        #expect(KnownHeaders.knoxcallEntries(inVia: "1.1 knoxcall") == 1)
        #expect(KnownHeaders.knoxcallEntries(inVia: "1.1 knoxcall, 1.0 edge (nginx),HTTP/1.1   KnoxCall") == 2)
        #expect(KnownHeaders.knoxcallEntries(inVia: "1.1 knoxcalls, 1.1 edge knoxcall, knoxcall") == 0)
        #expect(KnownHeaders.knoxcallEntries(inVia: "") == 0)
    }

    /// Every header the gateway sets or reads on the way through is refused in `inject_headers_json`, on a route and
    /// in an environment override, in any case: the names README and DECISIONS ("Reserved headers") list, every name
    /// of the reader's own list, and any `x-knoxcall-*` or `x-knox-*` name. An ordinary header is still injected.
    @Test func knoxcallsOwnHeadersCannotBeInjected() async throws {
        let p = try await ProxyFixture()
        _ = try await p.engine.createEnvironment(json(#"{"name":"staging"}"#), console)
        let plain = try await p.route("Plain")
        let rid = try #require(plain["id"]?.stringValue)
        let documented = [
            "Via", "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-IP", "X-Request-Id",
        ]
        let reserved = RouteSettingsReader.reservedInjectedHeaders.sorted()
        #expect(Set(documented.map { $0.lowercased() }).isSubset(of: Set(reserved)), "\(reserved)")
        let own = [
            "x-knoxcall-route", "X-KnoxCall-Key", "x-knoxcall-environment", "X-KNOXCALL-SIGNATURE", "x-knoxcall-next",
            "X-Knox-Upstream-Status", "x-knox-anything",
        ]
        for (i, name) in (own + documented + reserved + reserved.map { $0.uppercased() }).enumerated() {
            let error = await refused(
                p,
                #"{"name":"Inject \#(i)","target_base_url":"\#(p.upstream.url)","inject_headers_json":{"\#(name)":"r"}}"#,
                field: "inject_headers_json.\(name)")
            #expect(error?.message.contains("KnoxCall sets or reads this header itself") == true, "\(name)")
            do {
                _ = try await p.engine.putRouteEnvironment(
                    rid, "staging", json(#"{"inject_headers_json":{"\#(name)":"r"}}"#), console)
                Issue.record("an override injecting \(name) was accepted")
            } catch let error as ApiError {
                #expect(error.type == .validationError && error.field == "inject_headers_json.\(name)", "\(error)")
            }
        }
        try await p.route("Ordinary", extra: #""inject_headers_json":{"X-Api-Client":"injected"}"#)
        #expect(try await p.call(route: "ordinary").echoedHeader("X-Api-Client") == "injected")
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

    /// Two gateways that send each other's requests back through header-adding proxies: each hop adds its Via, and
    /// the gateway that sees `max_hops` KnoxCall entries cuts the loop with a 508 (logged).
    @Test func aLoopBetweenTwoGatewaysIsCut() async throws {
        let a = try await ProxyFixture()
        let b = try await ProxyFixture()
        let toB = try TestForwarder(targetPort: b.port, extra: ["x-knoxcall-route": "back", "x-knoxcall-key": b.key])
        let toA = try TestForwarder(targetPort: a.port, extra: ["x-knoxcall-route": "out", "x-knoxcall-key": a.key])
        defer {
            toB.stop()
            toA.stop()
        }
        _ = try await a.engine.createRoute(
            json(#"{"name":"Out","target_base_url":"http://127.0.0.1:\#(toB.port)"}"#), console)
        _ = try await b.engine.createRoute(
            json(#"{"name":"Back","target_base_url":"http://127.0.0.1:\#(toA.port)"}"#), console)
        let answer = try await a.call(route: "out")
        #expect(answer.status == 508)
        // A (0 Vias) → B (1) → A (2) → B (3): refused there.
        #expect(toB.forwarded == 2 && toA.forwarded == 1)
        #expect(try await b.logs().filter { $0.error == "loop_detected" }.count == 1)
        #expect(try await a.logs().filter { $0.error == "loop_detected" }.isEmpty)
    }
}
