import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

@Suite struct EnvelopeTests {
    @Test func successEnvelopeAndHeaders() async throws {
        let api = try await APIFixture()
        let r = await api.call("POST", "/v1/routes", body: #"{"name":"R","target_base_url":"https://a.com"}"#)
        #expect(r.status == 201)
        let requestId = try #require(r.json["meta"]?["request_id"]?.stringValue)
        #expect(requestId.hasPrefix("req_"))
        #expect(r.response.header("X-Request-Id") == requestId)
        #expect(r.response.header("Content-Type") == "application/json; charset=utf-8")
        #expect(r.response.header("KnoxCall-Version") == "2026-08-05")
        #expect(r.response.header("X-RateLimit-Limit") == "1000")
        #expect(r.response.header("X-RateLimit-Remaining") != nil)
        #expect(r.response.header("X-RateLimit-Reset").flatMap(Int64.init) != nil)
        #expect(r.json["data"]?["slug"] == "r")
        let list = await api.call("GET", "/v1/routes?per_page=1&page=1")
        #expect(list.json["meta"]?["total"] == 1)
        #expect(list.json["meta"]?["total_pages"] == 1)
        #expect(list.json["meta"]?["per_page"] == 1)
    }

    @Test func errorEnvelope() async throws {
        let api = try await APIFixture()
        let r = await api.call("GET", "/v1/routes/\(Identifier.uuid())")
        #expect(r.status == 404)
        let error = try #require(r.json["error"])
        #expect(error["type"] == "not_found")
        #expect(error["message"] == "Route not found")
        #expect(error["request_id"]?.stringValue == r.response.header("X-Request-Id"))
    }

    @Test(arguments: [
        ("GET", "/v1/nothing", 404, "not_found"),
        ("GET", "/v2/routes", 404, "not_found"),
        ("PUT", "/v1/routes", 405, "method_not_allowed"),
        ("POST", "/v1/routes/abc", 405, "method_not_allowed"),
        ("DELETE", "/v1/roles", 405, "method_not_allowed"),
        ("GET", "/v1/routes/%zz", 404, "not_found"),
    ])
    func routingErrors(method: String, path: String, status: Int, type: String) async throws {
        let api = try await APIFixture()
        let r = await api.call(method, path)
        #expect(r.status == status)
        #expect(r.json["error"]?["type"] == .string(type))
        if status == 405 { #expect(r.response.header("Allow") != nil) }
    }

    @Test func authenticationErrors() async throws {
        let api = try await APIFixture()
        #expect(await api.call("GET", "/v1/routes", key: "").json["error"]?["type"] == "authentication_required")
        #expect(
            await api.call("GET", "/v1/routes", key: "tk_live_nope_nope").json["error"]?["type"] == "invalid_api_key")
        let wrong = await api.call("GET", "/v1/routes", key: api.testKey)
        #expect(wrong.status == 403)
        #expect(wrong.json["error"]?["type"] == "wrong_key_type")
        #expect(await api.call("GET", "/v1/routes", mode: .test, headers: []).status == 200)
        #expect(
            await api.call("GET", "/v1/routes", key: api.liveKey, mode: .test).json["error"]?["type"]
                == "wrong_key_type")
        let basic = await api.call("GET", "/v1/routes", key: "", headers: [("Authorization", "Basic Zm9vOmJhcg==")])
        #expect(basic.json["error"]?["type"] == "authentication_required")
        let header = await api.call("GET", "/v1/routes", key: "", headers: [("x-api-key", api.liveKey)])
        #expect(header.status == 200)
        // The OpenAPI document needs no key.
        #expect(await api.call("GET", "/v1/openapi.json", key: "").status == 200)
    }

    /// Every operation that needs a key refuses a request without one (401 `authentication_required`) or with an
    /// unknown one (401 `invalid_api_key`) before anything else, and lets the run's key past authentication (whatever
    /// it then answers about the path or body). schemathesis' auth warning is a heuristic over its own runs; this
    /// checks every operation every time.
    @Test func everyOperationAuthenticatesFirst() async throws {
        let api = try await APIFixture()
        for op in Operations.all where op.requiresAuth {
            let path = op.path.replacingOccurrences(
                of: #"\{[a-z_]+\}"#, with: "00000000-0000-4000-8000-000000000000", options: .regularExpression)
            let body = op.method == "GET" || op.method == "DELETE" ? nil : "{}"
            let none = await api.call(op.method, path, body: body, key: "")
            #expect(none.status == 401 && none.json["error"]?["type"] == "authentication_required", "\(op.operationId)")
            let unknown = await api.call(op.method, path, body: body, key: "tk_live_nope_nope")
            #expect(unknown.status == 401 && unknown.json["error"]?["type"] == "invalid_api_key", "\(op.operationId)")
            let keyed = await api.call(op.method, path, body: body)
            #expect(![401, 403].contains(keyed.status), "\(op.operationId): \(keyed.json)")
        }
    }

    @Test func bodyErrors() async throws {
        let api = try await APIFixture()
        let invalid = await api.call("POST", "/v1/routes", body: #"{"name": "x","#)
        #expect(invalid.status == 400)
        #expect(invalid.json["error"]?["type"] == "validation_error")
        #expect(invalid.json["error"]?["field"] == "body")
        #expect(await api.call("POST", "/v1/routes", body: "[1]").json["error"]?["field"] == "body")
        #expect(await api.call("POST", "/v1/routes", body: "").json["error"]?["field"] == "body")
        let unknown = await api.call(
            "POST", "/v1/routes", body: #"{"name":"x","target_base_url":"https://a.com","colour":"red"}"#)
        #expect(unknown.json["error"]?["field"] == "colour")
        let xml = await api.call("POST", "/v1/routes", body: "<x/>", headers: [("Content-Type", "application/xml")])
        #expect(xml.status == 415)
        let version = await api.call("GET", "/v1/routes", headers: [("KnoxCall-Version", "2019-01-01")])
        #expect(version.status == 400)
        #expect(version.json["error"]?["field"] == "KnoxCall-Version")
        #expect(await api.call("GET", "/v1/routes", headers: [("KnoxCall-Version", "2026-08-05")]).status == 200)
        let twice = await api.call("GET", "/v1/routes?page=1&page=2")
        #expect(twice.json["error"]?["field"] == "page")
    }

    @Test func paginationEdges() async throws {
        let api = try await APIFixture()
        for i in 0..<5 {
            _ = await api.call("POST", "/v1/clients", body: #"{"name":"c\#(i)","ip_address":"10.0.0.\#(i)"}"#)
        }
        let beyond = await api.call("GET", "/v1/clients?page=7&per_page=2")
        #expect(beyond.status == 200)
        #expect(beyond.json["data"] == [])
        #expect(beyond.json["meta"]?["total"] == 5)
        #expect(beyond.json["meta"]?["total_pages"] == 3)
        for (q, field) in [
            ("per_page=0", "per_page"), ("per_page=101", "per_page"), ("page=0", "page"), ("sort=secret", "sort"),
            ("order=sideways", "order"), ("page=abc", "page"),
        ] {
            let r = await api.call("GET", "/v1/clients?\(q)")
            #expect(r.status == 400)
            #expect(r.json["error"]?["field"] == .string(field))
            #expect(r.json["error"]?["message"]?.stringValue?.hasPrefix(field) == true)
        }
        let sorted = await api.call("GET", "/v1/clients?sort=name&order=asc&per_page=100")
        #expect(
            sorted.json["data"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["c0", "c1", "c2", "c3", "c4"])
    }

    @Test func rateLimitAnswers429() async throws {
        let api = try await APIFixture()
        let key = try await api.live.makeKey("tight", extra: ["rate_limit_requests": 2, "rate_limit_window_sec": 60])
        #expect(await api.call("GET", "/v1/routes", key: key).status == 200)
        #expect(await api.call("GET", "/v1/routes", key: key).status == 200)
        let limited = await api.call("GET", "/v1/routes", key: key)
        #expect(limited.status == 429)
        #expect(limited.json["error"]?["type"] == "rate_limit_exceeded")
        #expect(limited.response.header("Retry-After") == "30")
        #expect(limited.response.header("X-RateLimit-Remaining") == "0")
        api.fixture.clock.advance(seconds: 30)
        #expect(await api.call("GET", "/v1/routes", key: key).status == 200)
    }

    @Test func idempotencyOverHTTP() async throws {
        let api = try await APIFixture()
        let body = #"{"name":"Once","target_base_url":"https://a.com"}"#
        let first = await api.call(
            "POST", "/v1/routes", body: body, headers: [("X-Idempotency-Key", "01J0000000000000000000000A")])
        let second = await api.call(
            "POST", "/v1/routes", body: body, headers: [("X-Idempotency-Key", "01J0000000000000000000000A")])
        #expect(first.status == 201 && second.status == 201)
        #expect(second.json["data"] == first.json["data"])
        #expect(second.json["meta"]?["request_id"] == first.json["meta"]?["request_id"])
        #expect(second.response.header("Idempotent-Replayed") == "true")
        #expect(await api.call("GET", "/v1/routes").json["meta"]?["total"] == 1)
        let other = await api.call(
            "POST", "/v1/routes", body: #"{"name":"Twice","target_base_url":"https://a.com"}"#,
            headers: [("X-Idempotency-Key", "01J0000000000000000000000A")])
        #expect(other.status == 409)
        // Keys are per caller: another key with the same idempotency key runs its own request.
        let otherKey = try await api.live.makeKey("second")
        let third = await api.call(
            "POST", "/v1/routes", body: body, key: otherKey,
            headers: [("X-Idempotency-Key", "01J0000000000000000000000A")])
        #expect(third.status == 409)
        #expect(third.json["error"]?["field"] == "name")
        let bad = await api.call(
            "POST", "/v1/routes", body: body, headers: [("X-Idempotency-Key", String(repeating: "k", count: 300))])
        #expect(bad.json["error"]?["field"] == "X-Idempotency-Key")
    }

    @Test func readOnlyKeyCannotMutate() async throws {
        let api = try await APIFixture()
        let ro = try await api.live.makeKey("ro", role: .readOnly)
        let r = await api.call("POST", "/v1/routes", body: #"{"name":"R","target_base_url":"https://a.com"}"#, key: ro)
        #expect(r.status == 403)
        #expect(r.json["error"]?["type"] == "forbidden")
        #expect(await api.call("GET", "/v1/routes", key: ro).status == 200)
        #expect(await api.call("GET", "/v1/audit-logs", key: ro).status == 200)
        #expect(await api.call("DELETE", "/v1/api-keys/\(Identifier.uuid())", key: ro).status == 403)
    }

    @Test func logsAnswerEmptyPagesUntilTheDataPlaneWrites() async throws {
        let api = try await APIFixture()
        let route = await api.call("POST", "/v1/routes", body: #"{"name":"R","target_base_url":"https://a.com"}"#)
        let id = try #require(route.json["data"]?["id"]?.stringValue)
        let logs = await api.call("GET", "/v1/routes/\(id)/logs")
        #expect(logs.status == 200)
        #expect(logs.json["data"] == [])
        #expect(logs.json["meta"]?["total"] == 0)
        let feed = await api.call("GET", "/v1/logs")
        #expect(feed.json["data"] == [])
        #expect(feed.json["meta"]?["next_cursor"] == .null)
        #expect(feed.json["meta"]?["dedupe_on"] == "request_id")
        #expect(await api.call("GET", "/v1/logs/req_missing").status == 404)
        #expect(await api.call("GET", "/v1/routes/\(Identifier.uuid())/logs").status == 404)
    }
}
