import Foundation
import KnoxAPI
import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Testing

@Suite final class MutationTests {
    let fixture: EngineFixture
    let engine: Engine

    deinit { fixture.dir.remove() }

    init() throws {
        fixture = try EngineFixture()
        engine = try fixture.engine()
    }

    func ctx(_ key: String?, _ body: String) -> RequestContext {
        RequestContext(
            actor: .console, idempotencyKey: key,
            fingerprint: RequestContext.fingerprint(method: "POST", path: "/v1/routes", body: Array(body.utf8)))
    }

    @Test func idempotentReplay() async throws {
        let body = #"{"name":"R","target_base_url":"https://a.com"}"#
        let first = try await engine.createRoute(json(body), ctx("k1", body))
        let second = try await engine.createRoute(json(body), ctx("k1", body))
        #expect(!first.replayed && second.replayed)
        #expect(second.data == first.data)
        #expect(second.requestId == first.requestId)
        #expect(second.status == 201)
        #expect(try await engine.listRoutes([:], actor: .console).total == 1)
        #expect(try await engine.audit().count == 1)
        // The same key with another request is refused and changes nothing.
        let other = #"{"name":"S","target_base_url":"https://a.com"}"#
        await expectApiError(.conflict, field: "X-Idempotency-Key") {
            try await engine.createRoute(json(other), self.ctx("k1", other))
        }
        #expect(try await engine.listRoutes([:], actor: .console).total == 1)
        // After 24 hours the key is forgotten: the name conflict shows the request really ran again.
        fixture.clock.advance(seconds: 24 * 3600 + 1)
        await expectApiError(.conflict, field: "name") {
            try await engine.createRoute(json(body), self.ctx("k1", body))
        }
    }

    /// A mutation's typed value is what its wire answer shows, and a replay (only the wire answer was kept) has none.
    @Test func typedAnswersAreWhatTheWireShows() async throws {
        let (tenantId, mode) = (engine.tenantId, engine.mode)
        let body = #"{"name":"R","target_base_url":"https://a.com"}"#
        let route = try await engine.createRoute(json(body), ctx("k3", body))
        let view = try #require(route.value)
        #expect(Wire.route(view, tenantId: tenantId, mode: mode) == route.data)
        #expect(view.route.name == "R" && view.baseConfig?.settings.targetBaseURL == "https://a.com")
        let replay = try await engine.createRoute(json(body), ctx("k3", body))
        #expect(replay.replayed && replay.value == nil && replay.data == route.data)

        let secret = try await engine.createSecret(
            ["name": "TOKEN", "value": "planted-typed-value"], EngineFixture.console())
        #expect(secret.value.map(Wire.secret) == secret.data)
        let stored = try await engine.setSecretValue(
            "TOKEN", environment: nil, ["value": "planted-typed-value-2"], EngineFixture.console())
        #expect(stored.value.map(Wire.secretValue) == stored.data)
        #expect(stored.value?.valueVersion == 2 && stored.value?.secretName == "TOKEN")
        #expect(!"\(stored.value as Any)".contains("planted-typed-value"))

        let client = try await engine.createClient(
            ["name": "C", "ip_address": "198.51.100.7"], EngineFixture.console())
        #expect(client.value.map { Wire.client($0, tenantId: tenantId) } == client.data)
        let assigned = try await engine.assignClient(
            view.route.id, try #require(client.value?.id), nil, EngineFixture.console())
        #expect(assigned.value??.client.name == "C")
        #expect(assigned.value.map { $0.map(Wire.routeClient) ?? .null } == assigned.data)
        let override = try await engine.putRouteEnvironment(
            view.route.id, "production", ["upstream_timeout_sec": 7], EngineFixture.console())
        #expect(override.value.map(Wire.routeEnvironment) == override.data)
        #expect(
            try await engine.deleteClient(try #require(client.value?.id), EngineFixture.console()).value == .deleted)
    }

    /// A new key's text is in its answer once, and in none of the typed value's descriptions.
    @Test func aNewKeyNeverDescribesItsText() async throws {
        let made = try await engine.createApiKey(["name": "ci", "never_expires": true], EngineFixture.console())
        let created = try #require(made.value)
        #expect(created.text.hasPrefix("tk_") && made.data["api_key"] == .string(created.text))
        #expect(Wire.apiKey(created) == made.data)
        var dumped = ""
        dump(created, to: &dumped)
        for shown in ["\(created)", String(reflecting: created), dumped] {
            #expect(!shown.contains(created.text), "\(shown)")
        }
        #expect(try await engine.revokeApiKey(created.key.id, EngineFixture.console()).value == .revoked)
    }

    @Test func failedMutationStoresNoReplay() async throws {
        let bad = #"{"name":"R"}"#
        await expectApiError(.validationError) { try await engine.createRoute(json(bad), self.ctx("k2", bad)) }
        let good = #"{"name":"R","target_base_url":"https://a.com"}"#
        // The key was not consumed by the failure.
        #expect(try await !engine.createRoute(json(good), ctx("k2", good)).replayed)
    }

    @Test func everyMutationAuditsOnceWithSandboxFlag() async throws {
        let test = try fixture.engine(.test)
        for e in [engine, test] {
            let expectedSandbox = e.mode == .test
            var expected: [String] = []
            func did(_ action: String) { expected.append(action) }
            _ = try await e.createEnvironment(json(#"{"name":"staging"}"#), console); did("environment.created")
            _ = try await e.updateEnvironment("staging", json(##"{"color":"#000000"}"##), console);
            did("environment.updated")
            let sid = try #require(try await e.secret("PLANT", "planted-value-123")["id"]?.stringValue);
            did("secret.created")
            _ = try await e.setSecretValue(sid, environment: nil, json(#"{"value":"planted-value-456"}"#), console);
            did("secret.value_updated")
            _ = try await e.updateSecret(sid, json(#"{"description":"d"}"#), console); did("secret.updated")
            let rid = try #require(
                try await e.route(
                    #"{"name":"R","target_base_url":"https://a.com","inject_headers_json":{"A":"{{secret:PLANT}}"}}"#)[
                        "id"]?.stringValue);
            did("route.created")
            _ = try await e.updateRoute(rid, json(#"{"enabled":false}"#), console); did("route.updated")
            _ = try await e.putRouteEnvironment(rid, "staging", json("{}"), console); did("route.environment_set")
            _ = try await e.deleteRouteEnvironment(rid, "staging", console); did("route.environment_deleted")
            let cid = try #require(
                try await e.createClient(json(#"{"name":"c","ip_address":"10.0.0.1"}"#), console).data["id"]?
                    .stringValue);
            did("client.created")
            _ = try await e.updateClient(cid, json(#"{"name":"d"}"#), console); did("client.updated")
            _ = try await e.assignClient(rid, cid, nil, console); did("route.client_assigned")
            _ = try await e.unassignClient(rid, cid, environment: nil, nil, console); did("route.client_unassigned")
            _ = try await e.deleteClient(cid, console); did("client.deleted")
            let kid = try #require(try await e.createApiKey(json(#"{"name":"k"}"#), console).data["id"]?.stringValue);
            did("api_key.created")
            _ = try await e.revokeApiKey(kid, console); did("api_key.revoked")
            _ = try await e.deleteRoute(rid, console); did("route.deleted")
            _ = try await e.deleteSecret(sid, console); did("secret.deleted")
            _ = try await e.deleteEnvironment("staging", console); did("environment.deleted")
            let rows = try await e.audit()
            #expect(rows.map { $0["action"]?.stringValue ?? "" } == expected)
            for row in rows {
                #expect(row["details"]?["sandbox"] == .bool(expectedSandbox))
                #expect(row["actor"] == "console")
                #expect(!row.serialized().contains("planted-value"))
            }
            let filtered = try await e.listAuditLogs(["action_prefix": "secret.", "per_page": "100"], actor: .console)
            #expect(filtered.total == 4)
            let byResource = try await e.listAuditLogs(["resource_type": "route", "resource_id": rid], actor: .console)
            #expect(byResource.total == 7)
        }
    }

    @Test func auditTimeRange() async throws {
        try await engine.route(#"{"name":"A","target_base_url":"https://a.com"}"#)
        let middle = fixture.clock.nowMillis() + 500
        fixture.clock.advance(seconds: 1)
        try await engine.route(#"{"name":"B","target_base_url":"https://a.com"}"#)
        let after = try await engine.listAuditLogs(["from": Timestamp.format(millis: middle)], actor: .console)
        #expect(after.items.map { $0["details"]?["name"] } == ["B"])
        let before = try await engine.listAuditLogs(["to": Timestamp.format(millis: middle)], actor: .console)
        #expect(before.items.map { $0["details"]?["name"] } == ["A"])
        await expectApiError(.validationError, field: "from") {
            try await engine.listAuditLogs(["from": "yesterday"], actor: .console)
        }
        // An empty range selects nothing (it is not an error: the document allows every well-formed pair).
        let empty = try await engine.listAuditLogs(
            ["from": Timestamp.format(millis: middle), "to": Timestamp.format(millis: middle)], actor: .console)
        #expect(empty.items.isEmpty)
        let feed = try await engine.auditEvents(["limit": "1"], actor: .console)
        #expect(feed.items.count == 1 && feed.nextCursor != nil)
        let rest = try await engine.auditEvents(["cursor": feed.nextCursor ?? ""], actor: .console)
        #expect(rest.items.map { $0["details"]?["name"] } == ["B"])
        #expect(rest.nextCursor == nil)
    }

    @Test func planLimits() async throws {
        var config = KnoxConfig()
        config.limits = PlanLimits(routes: 1, secrets: 0)
        let limited = try EngineFixture(config: config)
        defer { limited.dir.remove() }
        let e = try limited.engine()
        try await e.route(#"{"name":"A","target_base_url":"https://a.com"}"#)
        await expectApiError(.planLimit) { try await e.route(#"{"name":"B","target_base_url":"https://a.com"}"#) }
        await expectApiError(.planLimit) { try await e.secret("S", "v") }
        #expect(try await e.accountUsage()["resources"]?["routes"] == json(#"{"used":1,"limit":1}"#))
    }
}
