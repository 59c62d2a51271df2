import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxAPI
@testable import KnoxEngine

/// A secret's fields are described once (`Secret.fields`): the document's schemas, the bodies the API takes, the
/// answers, the store row and the console's columns all come from the table, and these tests hold each to it. A
/// secret's value is never one of the fields an answer shows or the store row keeps.
@Suite final class SecretDescriptorTests {
    let fixture: EngineFixture
    let console = RequestContext(actor: .console)
    deinit { fixture.dir.remove() }
    init() throws { fixture = try EngineFixture() }

    static let taken = Secret.fields.filter { $0.sample != nil }.map(\.name)
    /// The value every secret here holds: no answer may ever contain it.
    static let planted = "planted-\(UUID().uuidString)"

    func expectNoValue(_ answer: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            !answer.serialized().contains(Self.planted), "the value is in an answer", sourceLocation: sourceLocation)
    }

    /// The problem a call answers with (nil when it succeeds).
    func problem(_ call: () async throws -> some Any) async -> ApiError? {
        do {
            _ = try await call()
            return nil
        } catch let error as ApiError {
            return error
        } catch {
            Issue.record("expected an ApiError, got \(error)")
            return nil
        }
    }

    @Test func theDocumentDescribesEveryFieldWhereItIsTakenAndShown() {
        let schemas = OpenAPIDocument.document["components"]?["schemas"]
        for field in Secret.fields {
            for (schema, create) in [("SecretCreate", true), ("SecretUpdate", false)] {
                let input = create ? field.onCreate : field.onUpdate
                #expect(
                    schemas?[schema]?["properties"]?[field.name]
                        == (input == .none ? nil : field.bodySchema(create: create)),
                    "\(schema).\(field.name)")
            }
            #expect(schemas?["Secret"]?["properties"]?[field.name] == field.outputSchema, "Secret.\(field.name)")
        }
        let required = schemas?["SecretCreate"]?["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(Set(required) == Set(Secret.fields.filter { $0.onCreate == .required }.map(\.name)))
        #expect(Set(required) == ["name", "value"])
        #expect(schemas?["SecretUpdate"]?["required"] == nil)
        #expect(schemas?["SecretUpdate"]?["minProperties"] == 1)
        // Create and update describe these two differently.
        #expect(
            schemas?["SecretCreate"]?["properties"]?["strict_expiry_enforcement"]?["description"] == "null: false")
        #expect(
            schemas?["SecretUpdate"]?["properties"]?["strict_expiry_enforcement"]?["description"] == "null: unchanged")
        #expect(schemas?["SecretCreate"]?["properties"]?["name"]?["description"] != nil)
        #expect(schemas?["SecretUpdate"]?["properties"]?["name"]?["description"] == nil)
    }

    @Test func theValueIsWriteOnly() throws {
        let value = try #require(Secret.fields.first { $0.name == "value" })
        #expect(value.onCreate == .required && value.onUpdate == .none)
        #expect(value.inputSchema != nil && value.outputSchema == nil && !value.isStored)
        let schemas = OpenAPIDocument.document["components"]?["schemas"]
        #expect(schemas?["Secret"]?["properties"]?["value"] == nil)
        #expect(schemas?["SecretUpdate"]?["properties"]?["value"] == nil)
        #expect(Secret.fields.wire(Secret.blank())["value"] == nil)
    }

    @Test(arguments: taken)
    func aFieldIsTakenShownAndKept(name: String) async throws {
        let field = try #require(Secret.fields.first { $0.name == name })
        let sample = try #require(field.sample)
        var id = ""
        do {
            let engine = try fixture.engine()
            _ = try await engine.createEnvironment(["name": "staging"], console)
            var body = JSONObject(pairs: [("name", "DESCRIBED"), ("value", .string(Self.planted))])
            body[name] = sample
            let created = try await engine.createSecret(.object(body), console).data
            expectNoValue(created)
            id = try #require(created["id"]?.stringValue)
            #expect(created[name] == sample, "the answer to the create shows what was sent")
            if field.onUpdate != .none {
                // An update takes it too.
                let updated = try await engine.updateSecret(id, .object([name: sample]), console).data
                expectNoValue(updated)
                #expect(updated[name] == sample)
            }
        }
        let reopened = try fixture.engine()
        let got = try await reopened.getSecret(id, actor: .console)
        expectNoValue(got)
        #expect(got[name] == sample, "kept by the store")
        #expect(try await reopened.listSecrets([:], actor: .console).items.first?[name] == sample)
    }

    @Test func noAnswerShowsTheValue() async throws {
        Capture.plant(Self.planted, kind: "secret_value")
        let engine = try fixture.engine()
        _ = try await engine.createEnvironment(["name": "staging"], console)
        let created = try await engine.createSecret(["name": "Planted", "value": .string(Self.planted)], console).data
        let id = try #require(created["id"]?.stringValue)
        let set = try await engine.setSecretValue(
            id, environment: "staging", ["value": .string(Self.planted)], console
        ).data
        let updated = try await engine.updateSecret(id, ["description": "changed"], console).data
        let got = try await engine.getSecret(id, actor: .console)
        let items = try await engine.listSecrets([:], actor: .console).items
        let listed = JSONValue.array(items)
        for answer in [created, set, updated, got, listed] { expectNoValue(answer) }
        #expect(got["environment_count"] == 2)
    }

    @Test func bodiesAreCheckedInTheirFieldsOrder() async throws {
        let engine = try fixture.engine()
        let long = JSONValue.string(String(repeating: "d", count: 1001))
        let creates: [(JSONObject, String)] = [
            (["secret_type": "magic", "unknown": 1], "secret_type"),
            (["name": "bad{name}", "unknown": 1], "unknown"),
            (["name": "bad{name}"], "name"),
            (["name": "A"], "value"),
            (["name": "A", "value": "x", "environment": "qa", "description": long], "environment"),
            (["name": "A", "value": "x", "base_environment": "qa", "description": long], "base_environment"),
            (["name": "A", "value": "x", "description": long, "collection_id": ""], "description"),
            (["name": "A", "value": "x", "collection_id": "", "expires_at": "soon"], "collection_id"),
            (["name": "A", "value": "x", "expires_at": "soon", "strict_expiry_enforcement": "yes"], "expires_at"),
            (["name": "A", "value": "x", "strict_expiry_enforcement": "yes"], "strict_expiry_enforcement"),
        ]
        for (body, field) in creates {
            let error = await problem { try await engine.createSecret(.object(body), console) }
            #expect(error?.field == field, "\(body.keys): \(error?.message ?? "accepted")")
        }
        let id = try #require(
            try await engine.createSecret(["name": "A", "value": "x"], console).data["id"]?.stringValue)
        _ = try await engine.createSecret(["name": "B", "value": "y"], console)
        let updates: [(JSONObject, String)] = [
            (["value": "z"], "value"),
            (["name": "bad{name}", "description": long], "name"),
            (["name": "b", "description": long], "name"),
            (["description": long, "expires_at": "soon"], "description"),
        ]
        for (body, field) in updates {
            let error = await problem { try await engine.updateSecret(id, .object(body), console) }
            #expect(error?.field == field, "\(body.keys): \(error?.message ?? "accepted")")
        }
        let conflict = await problem { try await engine.updateSecret(id, ["name": "b"], console) }
        #expect(conflict?.type == .conflict)
    }

    @Test func everyColumnOfTheSecretsTableIsAStoredField() async throws {
        let engine = try fixture.engine()
        _ = try await engine.createSecret(["name": "S", "value": .string(Self.planted)], console)
        let row = try await engine.listSecrets([:], actor: .console).items.first
        // Every stored field is on the wire, and the wire's other keys are derived or the resource's context.
        let stored = Set(Secret.fields.filter(\.isStored).map(\.name))
        let shown = Set(row?.objectValue?.keys ?? [])
        #expect(stored.isSubset(of: shown))
        #expect(shown.subtracting(stored) == ["shortcode_name", "environment_count"])
    }
}
