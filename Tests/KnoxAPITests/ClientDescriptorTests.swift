import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxAPI
@testable import KnoxEngine

/// A client's fields are described once (`Client.fields`): the document's schemas, the bodies the API takes, the
/// answers, the store row and the console's columns all come from the table, and these tests hold each to it.
@Suite final class ClientDescriptorTests {
    let fixture: EngineFixture
    let console = RequestContext(actor: .console)
    deinit { fixture.dir.remove() }
    init() throws { fixture = try EngineFixture() }

    static let taken = Client.fields.filter { $0.sample != nil }.map(\.name)

    @Test func theDocumentDescribesEveryFieldWhereItIsTakenAndShown() {
        let schemas = OpenAPIDocument.document["components"]?["schemas"]
        for field in Client.fields {
            for (schema, input) in [("ClientCreate", field.onCreate), ("ClientUpdate", field.onUpdate)] {
                #expect(
                    schemas?[schema]?["properties"]?[field.name] == (input == .none ? nil : field.inputSchema),
                    "\(schema).\(field.name)")
            }
            #expect(schemas?["Client"]?["properties"]?[field.name] == field.outputSchema, "Client.\(field.name)")
        }
        let required = schemas?["ClientCreate"]?["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(Set(required) == Set(Client.fields.filter { $0.onCreate == .required }.map(\.name)))
    }

    @Test(arguments: taken)
    func aFieldIsTakenShownAndKept(name: String) async throws {
        let field = try #require(Client.fields.first { $0.name == name })
        let sample = try #require(field.sample)
        var id = ""
        do {
            let engine = try fixture.engine()
            var body = JSONObject(pairs: [("name", "Described"), ("ip_address", "192.0.2.0/24")])
            body[name] = sample
            let created = try await engine.createClient(.object(body), console).data
            id = try #require(created["id"]?.stringValue)
            #expect(created[name] == sample, "the answer to the create shows what was sent")
            // An update takes it too.
            let updated = try await engine.updateClient(id, .object([name: sample]), console).data
            #expect(updated[name] == sample)
        }
        let reopened = try fixture.engine()
        #expect(try await reopened.getClient(id, actor: .console)[name] == sample, "kept by the store")
    }

    @Test func everyColumnOfTheClientsTableIsAStoredField() async throws {
        let engine = try fixture.engine()
        _ = try await engine.createClient(["name": "C", "ip_address": "192.0.2.1"], console)
        let row = try await engine.listClients([:], actor: .console).items.first
        // Every stored field is on the wire, and the wire's other keys are the resource's context.
        let stored = Set(Client.fields.filter(\.isStored).map(\.name))
        let shown = Set(row?.objectValue?.keys ?? [])
        #expect(stored.isSubset(of: shown))
        #expect(
            shown.subtracting(stored)
                == [
                    "tenant_id", "agent_version", "agent_os", "agent_arch", "agent_hostname", "agent_last_seen",
                    "agent_mode",
                ])
    }
}
