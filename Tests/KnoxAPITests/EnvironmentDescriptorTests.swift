import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxAPI
@testable import KnoxEngine

/// An environment's fields are described once (`Environment.fields`): the document's schemas, the bodies the API
/// takes, the answers, the store row and the console's columns all come from the table, and these tests hold each
/// to it.
@Suite final class EnvironmentDescriptorTests {
    let fixture: EngineFixture
    let console = RequestContext(actor: .console)
    deinit { fixture.dir.remove() }
    init() throws { fixture = try EngineFixture() }

    static let taken = Environment.fields.filter { $0.sample != nil }.map(\.name)

    @Test func theDocumentDescribesEveryFieldWhereItIsTakenAndShown() {
        let schemas = OpenAPIDocument.document["components"]?["schemas"]
        for field in Environment.fields {
            for (schema, input) in [("EnvironmentCreate", field.onCreate), ("EnvironmentUpdate", field.onUpdate)] {
                #expect(
                    schemas?[schema]?["properties"]?[field.name] == (input == .none ? nil : field.inputSchema),
                    "\(schema).\(field.name)")
            }
            #expect(
                schemas?["Environment"]?["properties"]?[field.name] == field.outputSchema, "Environment.\(field.name)")
        }
        let required = schemas?["EnvironmentCreate"]?["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(Set(required) == Set(Environment.fields.filter { $0.onCreate == .required }.map(\.name)))
        #expect(required == ["name"], "the name is the one field a create must send")
        #expect(schemas?["EnvironmentUpdate"]?.objectValue?.keys.contains("required") == false)
        #expect(schemas?["EnvironmentUpdate"]?["minProperties"] == 1)
        // Every answer key is required, the wire's context keys too.
        let answer = schemas?["Environment"]?["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(Set(answer) == Set(Environment.fields.answerSchema().map(\.0) + ["tenant_id", "sandbox"]))
    }

    @Test(arguments: taken)
    func aFieldIsTakenShownAndKept(name: String) async throws {
        let field = try #require(Environment.fields.first { $0.name == name })
        let sample = try #require(field.sample)
        var id = ""
        do {
            let engine = try fixture.engine()
            var body = JSONObject(pairs: [("name", "described")])
            body[name] = sample
            let created = try await engine.createEnvironment(.object(body), console).data
            id = try #require(created["id"]?.stringValue)
            #expect(created[name] == sample, "the answer to the create shows what was sent")
            if field.onUpdate != .none {
                // An update takes it too.
                let updated = try await engine.updateEnvironment(id, .object([name: sample]), console).data
                #expect(updated[name] == sample)
            }
        }
        let reopened = try fixture.engine()
        #expect(try await reopened.getEnvironment(id, actor: .console)[name] == sample, "kept by the store")
    }

    @Test func anUpdateAcceptsTheSameNameAndRefusesAnother() async throws {
        let engine = try fixture.engine()
        let created = try await engine.createEnvironment(["name": "kept"], console).data
        let id = try #require(created["id"]?.stringValue)
        let same = try await engine.updateEnvironment(id, ["name": "kept", "color": "#ABCDEF"], console).data
        #expect(same["name"] == "kept" && same["color"] == "#abcdef")
        do {
            _ = try await engine.updateEnvironment(id, ["name": "renamed"], console)
            Issue.record("an update changed the name")
        } catch let error as ApiError {
            #expect(error.type == .validationError && error.field == "name" && error.reason == .immutable, "\(error)")
        }
        #expect(try await engine.getEnvironment(id, actor: .console)["name"] == "kept")
    }

    @Test func aCreateWithoutADisplayNameTakesTheNames() async throws {
        let engine = try fixture.engine()
        let created = try await engine.createEnvironment(["name": "qa_eu-west"], console).data
        #expect(created["display_name"] == "Qa Eu West")
        #expect(created["color"] == JSONValue.string(Environment.defaultColor))
        #expect(created["is_default"] == false && created["description"] == JSONValue.null)
    }

    @Test func everyColumnOfTheEnvironmentsTableIsAStoredField() async throws {
        let engine = try fixture.engine()
        let row = try await engine.listEnvironments([:], actor: .console).arrayValue?.first
        // Every stored field is on the wire, and the wire's other keys are the resource's context.
        let stored = Set(Environment.fields.filter(\.isStored).map(\.name))
        let shown = Set(row?.objectValue?.keys ?? [])
        #expect(!stored.isEmpty && stored.isSubset(of: shown))
        #expect(shown.subtracting(stored) == ["tenant_id", "sandbox"])
    }
}
