import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

/// Answers schemathesis found at odds with the OpenAPI document (issue 21): a request the document allows is
/// answered, or refused with a status the document gives for that situation — never a 400 for well-formed input.
extension RouteHandlerTests {
    @Test func anUnknownEnvironmentInTheOverridePathIsNotFound() async throws {
        let id = try #require(
            try await engine.route(#"{"name":"R","target_base_url":"https://a.example"}"#)["id"]?.stringValue)
        await expectApiError(.notFound) { try await engine.putRouteEnvironment(id, "0", json("{}"), console) }
        #expect(try await engine.routeEnvironments(id, actor: .console).arrayValue?.count == 1)
    }

    @Test func anEmptyTimeRangeSelectsNothing() async throws {
        _ = try await engine.route(#"{"name":"R","target_base_url":"https://a.example"}"#)
        let t = "2000-01-01T00:00:00Z"
        #expect(try await engine.listAuditLogs(["from": t, "to": t], actor: .console).items.isEmpty)
        #expect(
            try await engine.listAuditLogs(["from": "2100-01-01T00:00:00Z", "to": t], actor: .console).items.isEmpty)
        #expect(try await engine.listAuditLogs([:], actor: .console).items.isEmpty == false)
        #expect(try await engine.auditEvents(["from": t, "to": t], actor: .console).items.isEmpty)
    }
}
