import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxAPI
@testable import KnoxEngine

/// Every property of every request body the document describes takes null exactly where its schema says so: a body
/// that is valid but for one member set to null is taken (or refused with a documented `error.reason`) when the
/// schema admits null, and refused naming that member when it does not. (schemathesis' `negative_data_rejection`
/// found route settings that took a null their schema refused; route bodies are probed member by member in
/// `RouteSettingDescriptorTests` and `RouteFieldDescriptorTests`, the other bodies here.)
@Suite struct DocumentNullTests {
    let console = RequestContext(actor: .console)

    /// Sends a body to its operation (with whatever the operation needs created first).
    typealias Send = @Sendable (Engine, JSONObject, RequestContext) async throws -> Void

    struct Body: Sendable, CustomTestStringConvertible {
        let schema: String
        let valid: @Sendable (Int) -> JSONObject
        let send: Send
        var testDescription: String { schema }
    }

    static let bodies: [Body] = [
        Body(schema: "SecretCreate", valid: { ["name": .string("NULL_\($0)"), "value": "v"] }) { e, b, c in
            _ = try await e.createSecret(.object(b), c)
        },
        Body(schema: "SecretUpdate", valid: { _ in [:] }) { e, b, c in
            let id = try await e.createSecret(["name": "UPDATED", "value": "v"], c).data["id"]?.stringValue ?? ""
            _ = try await e.updateSecret(id, .object(b), c)
        },
        Body(schema: "SecretValueInput", valid: { _ in ["value": "v2"] }) { e, b, c in
            let id = try await e.createSecret(["name": "VALUED", "value": "v"], c).data["id"]?.stringValue ?? ""
            _ = try await e.setSecretValue(id, environment: nil, .object(b), c)
        },
        Body(schema: "ClientCreate", valid: { ["name": .string("Client \($0)"), "ip_address": "192.0.2.1"] }) {
            e, b, c in _ = try await e.createClient(.object(b), c)
        },
        Body(schema: "ClientUpdate", valid: { _ in [:] }) { e, b, c in
            let created = try await e.createClient(["name": "Updated", "ip_address": "192.0.2.2"], c)
            _ = try await e.updateClient(created.data["id"]?.stringValue ?? "", .object(b), c)
        },
        Body(schema: "EnvironmentCreate", valid: { ["name": .string("env-\($0)")] }) { e, b, c in
            _ = try await e.createEnvironment(.object(b), c)
        },
        Body(schema: "EnvironmentUpdate", valid: { _ in [:] }) { e, b, c in
            let id = try await e.createEnvironment(["name": "updated"], c).data["id"]?.stringValue ?? ""
            _ = try await e.updateEnvironment(id, .object(b), c)
        },
        Body(schema: "ApiKeyCreate", valid: { ["name": .string("Key \($0)")] }) { e, b, c in
            _ = try await e.createApiKey(.object(b), c)
        },
        Body(schema: "RouteClientInput", valid: { _ in [:] }) { e, b, c in
            let route = try await e.createRoute(["name": "Assigned", "target_base_url": "https://a.example.com"], c)
            let client = try await e.createClient(["name": "Assigned", "ip_address": "192.0.2.3"], c)
            _ = try await e.assignClient(
                route.data["id"]?.stringValue ?? "", client.data["id"]?.stringValue ?? "", .object(b), c)
        },
    ]

    @Test(arguments: bodies)
    func nullIsTakenExactlyWhereTheDocumentSaysSo(body: Body) async throws {
        let schema = try #require(OpenAPIDocument.document["components"]?["schemas"]?[body.schema])
        let properties = try #require(schema["properties"]?.objectValue)
        #expect(!properties.isEmpty)
        for (n, (name, property)) in properties.enumerated() {
            // A fresh data directory per member: one member's call cannot make another's fail (a name taken).
            let fixture = try EngineFixture()
            defer { fixture.dir.remove() }
            let engine = try fixture.engine()
            var sent = body.valid(n)
            sent[name] = .null
            let nullable = JSONSchemaProbe.takesNull(property)
            do {
                try await body.send(engine, sent, console)
                #expect(nullable, "\(body.schema).\(name) = null was taken, but the document refuses it")
            } catch let error as ApiError {
                if nullable {
                    #expect(error.reason != nil, "\(body.schema).\(name) = null is documented, but refused: \(error)")
                } else {
                    // A validation_error, or the documented type for that field (invalid_expiry for a key's expiry).
                    #expect(error.status == 400 && error.field == name, "\(body.schema).\(name): \(error)")
                }
            }
        }
    }
}
