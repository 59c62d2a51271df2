import Foundation
import KnoxAPI
import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Testing

@testable import KnoxProxy

/// A client's address identifies a caller only on a route with `requires_clients` that has the client assigned in
/// that environment; everywhere else a key or token is required (SPEC "Keys and tokens"; issue 20, point 1).
@Suite struct CallerIdentityTests {
    @Test func aClientAddressIsNoLoginOnRoutesWithoutClients() async throws {
        let p = try await ProxyFixture()
        let secret = "sk_planted_open_\(UUID().uuidString)"
        Capture.plant(secret, kind: "secret_value")
        _ = try await p.secret("UPSTREAM", secret)
        try await p.route("Open", extra: #""inject_headers_json":{"Authorization":"Bearer {{secret:UPSTREAM}}"}"#)
        #expect(try await p.call(route: "open", key: "").status == 401)
        // An enabled client with the caller's address, assigned nowhere: still no login.
        _ = try await p.engine.createClient(json(#"{"name":"loopback","ip_address":"127.0.0.0/8"}"#), console)
        let keyless = try await p.call(route: "open", key: "")
        #expect(keyless.status == 401 && keyless.errorType == "authentication_required")
        #expect(!keyless.text.contains(secret))
        #expect(p.upstream.requests.isEmpty)
        // With a key the route works, and the secret is injected.
        #expect(try await p.call(route: "open").status == 200)
        #expect(p.upstream.requests.last?.header("authorization") == "Bearer \(secret)")
    }

    @Test func anAssignedClientIsALoginOnlyOnItsRouteAndEnvironment() async throws {
        let p = try await ProxyFixture()
        _ = try await p.engine.createEnvironment(json(#"{"name":"staging"}"#), console)
        let restricted = try await p.route("Restricted", extra: #""requires_clients":true"#)
        let rid = try #require(restricted["id"]?.stringValue)
        _ = try await p.engine.putRouteEnvironment(rid, "staging", json("{}"), console)
        let other = try await p.route("Other", extra: #""requires_clients":true"#)
        let oid = try #require(other["id"]?.stringValue)
        try await p.route("Open")
        let client = try await p.engine.createClient(json(#"{"name":"loopback","ip_address":"127.0.0.1"}"#), console)
            .data
        let cid = try #require(client["id"]?.stringValue)
        _ = try await p.engine.assignClient(rid, cid, json(#"{"environment":"staging"}"#), console)
        // Assigned for staging only: production is not open to it, keyless (401) or keyed (403).
        #expect(try await p.call(route: "restricted", key: "").status == 401)
        #expect(try await p.call(route: "restricted").errorType == "ip_not_allowed")
        let staging = try await p.call(route: "restricted", key: "", headers: ["x-knoxcall-environment": "staging"])
        #expect(staging.status == 200)
        // Neither a restricted route it is not assigned to, nor a route without clients.
        #expect(try await p.call(route: "other", key: "").status == 401)
        #expect(try await p.call(route: "open", key: "").status == 401)
        _ = try await p.engine.assignClient(oid, cid, nil, console)
        #expect(try await p.call(route: "other", key: "").status == 200)
        // A keyless caller learns nothing about routes: unknown, disabled or unassigned all read the same.
        #expect(try await p.call(route: "missing", key: "").errorType == "authentication_required")
        _ = try await p.engine.updateRoute(oid, json(#"{"enabled":false}"#), console)
        #expect(try await p.call(route: "other", key: "").errorType == "authentication_required")
        let logs = try await p.logs()
        #expect(logs.filter { $0.identificationMethod == "client_ip" }.map(\.statusCode) == [200, 200])
    }

    @Test func wideClientRangesNeedAnExplicitRequest() async throws {
        let p = try await ProxyFixture()
        for wide in ["0.0.0.0/0", "::/0", "10.0.0.0/7", "2001:db8::/31", "128.0.0.0/1"] {
            do {
                _ = try await p.engine.createClient(json(#"{"name":"wide","ip_address":"\#(wide)"}"#), console)
                Issue.record("\(wide) was accepted")
            } catch let error as ApiError {
                #expect(error.type == .validationError && error.field == "ip_address", "\(wide)")
                #expect(error.message.contains("allow_wide_range"), "\(wide)")
            }
        }
        // IPv4-mapped IPv6 ranges are IPv4 ranges: stored so (only that form can match a caller) and judged so.
        let mapped = try await p.engine.createClient(
            json(#"{"name":"mapped","ip_address":"::ffff:10.1.0.0/112"}"#), console
        ).data
        #expect(mapped["ip_address"]?.stringValue == "10.1.0.0/16")
        await #expect(throws: ApiError.self) {
            _ = try await p.engine.createClient(
                json(#"{"name":"all mapped","ip_address":"::ffff:0.0.0.0/96"}"#), console)
        }
        // At the configured prefix or narrower: accepted as before.
        _ = try await p.engine.createClient(json(#"{"name":"ten","ip_address":"10.0.0.0/8"}"#), console)
        let v6 = try await p.engine.createClient(json(#"{"name":"doc","ip_address":"2001:db8::/32"}"#), console).data
        // Widening an existing client is refused the same way.
        let id = try #require(v6["id"]?.stringValue)
        do {
            _ = try await p.engine.updateClient(id, json(#"{"ip_address":"::/0"}"#), console)
            Issue.record("::/0 was accepted on update")
        } catch let error as ApiError {
            #expect(error.type == .validationError && error.field == "ip_address")
        }
        // Asked for explicitly: accepted and audited as such.
        let everyone = try await p.engine.createClient(
            json(#"{"name":"everyone","ip_address":"0.0.0.0/0","allow_wide_range":true}"#), console
        ).data
        #expect(everyone["ip_address"]?.stringValue == "0.0.0.0/0")
        let audit = try await p.engine.listAuditLogs(["action": "client.created"], actor: .console).items
        let row = try #require(audit.first { $0["resource_id"]?.stringValue == everyone["id"]?.stringValue })
        #expect(row["details"]?["allow_wide_range"]?.boolValue == true)
        // allow_wide_range must be a boolean.
        await #expect(throws: ApiError.self) {
            _ = try await p.engine.createClient(
                json(#"{"name":"x","ip_address":"10.0.0.1","allow_wide_range":"yes"}"#), console)
        }
    }

    @Test func theWidestPrefixIsConfigurable() async throws {
        var config = KnoxConfig()
        config = try KnoxConfig.parse("[clients]\nwidest_ipv4_prefix = 16\nwidest_ipv6_prefix = 48\n")
        let p = try await ProxyFixture(config: config)
        await #expect(throws: ApiError.self) {
            _ = try await p.engine.createClient(json(#"{"name":"ten","ip_address":"10.0.0.0/8"}"#), console)
        }
        _ = try await p.engine.createClient(json(#"{"name":"ten","ip_address":"10.1.0.0/16"}"#), console)
        await #expect(throws: ApiError.self) {
            _ = try await p.engine.createClient(json(#"{"name":"doc","ip_address":"2001:db8::/32"}"#), console)
        }
        #expect(throws: ConfigError.self) { _ = try KnoxConfig.parse("[clients]\nwidest_ipv4_prefix = 33\n") }
        #expect(throws: ConfigError.self) { _ = try KnoxConfig.parse("[clients]\nwidest_ipv6_prefix = -1\n") }
    }
}
