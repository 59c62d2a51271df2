import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxAPI
@testable import KnoxEngine

/// Each route setting is described once (`RouteSettings.fields`); these tests hold every surface built from the
/// descriptor to it: the document's schemas, the bodies the API takes, the rows it answers, what survives a
/// restart, and what an override row reports as overridden.
@Suite final class RouteSettingDescriptorTests {
    let fixture: EngineFixture
    deinit { fixture.dir.remove() }
    init() throws { fixture = try EngineFixture() }

    static let names = RouteSettings.fields.map(\.name)
    let console = RequestContext(actor: .console)

    /// Settings that only ever hold their default in this version, or whose value is derived from another one.
    static let inert: Set<String> = [
        "injection_rules", "method_configs", "use_method_specific_configs", "intercept_enabled",
        "http_method_restrictions_enabled",
    ]

    /// Members a sample needs beside it to be a valid body (a rule that ties two fields together).
    static func companions(_ name: String, secretId: String) -> [(String, JSONValue)] {
        switch name {
        case "require_signature": [("signing_secret_id", .string(secretId))]
        case "rate_limit_enabled": [("rate_limit_requests", 10), ("rate_limit_window_sec", 60)]
        case "http_method_restrictions_enabled": [("allowed_methods", ["GET"])]
        default: []
        }
    }

    static func sample(_ field: SettingField, secretId: String) -> JSONValue {
        field.name == "signing_secret_id" ? .string(secretId) : field.sample
    }

    @Test func theDocumentDescribesEverySettingWhereItIsTakenAndShown() {
        let schemas = OpenAPIDocument.document["components"]?["schemas"]
        func properties(_ schema: String) -> Set<String> {
            Set(schemas?[schema]?["properties"]?.objectValue?.keys ?? [])
        }
        for field in RouteSettings.fields {
            #expect(
                schemas?["RouteEnvironmentInput"]?["properties"]?[field.name]
                    == Schemas.settingInput(field, onBase: false), "\(field.name)")
            #expect(properties("RouteEnvironment").contains(field.name), "\(field.name)")
            if field.environmentOnly { continue }
            for schema in ["RouteCreate", "RouteUpdate"] {
                #expect(
                    schemas?[schema]?["properties"]?[field.name] == Schemas.settingInput(field, onBase: true),
                    "\(schema).\(field.name)")
            }
            #expect(properties("Route").contains(field.name), "\(field.name)")
        }
    }

    @Test(arguments: names)
    func aSettingIsTakenShownKeptAndOverridden(name: String) async throws {
        let field = try #require(RouteSettings.fields.first { $0.name == name })
        var secretId = ""
        var routeId = ""
        do {
            let engine = try fixture.engine()
            secretId =
                try await engine.createSecret(["name": "SAMPLE_SECRET", "value": "s3cr3t"], console).data["id"]?
                .stringValue ?? ""
            _ = try await engine.createEnvironment(["name": "staging"], console)
            let sample = Self.sample(field, secretId: secretId)
            var body = JSONObject(pairs: [("name", "Described"), ("target_base_url", "https://a.example.com")])
            for (k, v) in Self.companions(name, secretId: secretId) { body[k] = v }
            if !field.environmentOnly { body[name] = sample }
            let route = try await engine.createRoute(.object(body), console).data
            routeId = try #require(route["id"]?.stringValue)
            if !field.environmentOnly {
                #expect(route[name] == sample, "the answer to the create shows what was sent")
            }
            // On an override row: shown as sent, and reported overridden unless it only holds its default.
            var override = JSONObject(pairs: [(name, sample)])
            for (k, v) in Self.companions(name, secretId: secretId) { override[k] = v }
            let row = try await engine.putRouteEnvironment(routeId, "staging", .object(override), console).data
            #expect(row[name] == sample)
            let overridden = row["overridden_fields"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(overridden.contains(name) == !Self.inert.contains(name), "\(overridden)")
        }
        // After a restart, from the store.
        let reopened = try fixture.engine()
        let sample = Self.sample(field, secretId: secretId)
        if !field.environmentOnly {
            #expect(try await reopened.getRoute(routeId, actor: .console)[name] == sample)
        }
        let rows = try await reopened.routeEnvironments(routeId, actor: .console).arrayValue ?? []
        let staging = rows.first { $0["environment_name"] == "staging" }
        #expect(staging?[name] == sample)
    }

    /// A body may send null for a setting exactly where the document says so: where the schema takes null the
    /// request is taken (or, on the base environment, refused with a documented `error.reason`), and where it does
    /// not the request is refused naming the setting.
    @Test(arguments: names)
    func nullIsTakenExactlyWhereTheDocumentSaysSo(name: String) async throws {
        let field = try #require(RouteSettings.fields.first { $0.name == name })
        let engine = try fixture.engine()
        _ = try await engine.createEnvironment(["name": "staging"], console)
        let plain: JSONValue = ["name": "Plain", "target_base_url": "https://a.example.com"]
        let id = try #require(try await engine.createRoute(plain, console).data["id"]?.stringValue)
        var cases: [(schema: String, onBase: Bool, call: () async throws -> Void)] = [
            (
                "RouteEnvironmentInput", false,
                { _ = try await engine.putRouteEnvironment(id, "staging", [name: .null], self.console) }
            ),
            (
                "RouteEnvironmentInput", true,
                { _ = try await engine.putRouteEnvironment(id, "production", [name: .null], self.console) }
            ),
        ]
        if !field.environmentOnly {
            var body = plain.objectValue ?? [:]
            body["name"] = "Created"
            body[name] = .null
            let create = JSONValue.object(body)
            cases.append(("RouteCreate", true, { _ = try await engine.createRoute(create, self.console) }))
            cases.append(("RouteUpdate", true, { _ = try await engine.updateRoute(id, [name: .null], self.console) }))
        }
        for (schema, onBase, call) in cases {
            let property = OpenAPIDocument.document["components"]?["schemas"]?[schema]?["properties"]?[name]
            let nullable = JSONSchemaProbe.takesNull(try #require(property, "\(schema).\(name)"))
            let what = "\(schema).\(name) = null\(onBase ? " on the base" : "")"
            do {
                try await call()
                #expect(nullable, "\(what) was taken, but the document refuses it")
            } catch let error as ApiError {
                if nullable {
                    #expect(onBase && error.reason != nil, "\(what) is documented, but refused: \(error)")
                } else {
                    #expect(error.type == .validationError && error.field == name, "\(what): \(error)")
                }
            }
        }
    }

    /// A value outside the setting's own rules is refused, naming the setting, and nothing is saved.
    @Test(arguments: names.filter { !["injection_rules", "http_method_restrictions_enabled"].contains($0) })
    func aWrongTypeIsRefusedByName(name: String) async throws {
        let engine = try fixture.engine()
        let field = try #require(RouteSettings.fields.first { $0.name == name })
        let wrong: JSONValue = field.sample.stringValue == nil ? "not-this-type" : 12
        let created = try await engine.createRoute(["name": "R", "target_base_url": "https://a.example.com"], console)
        let id = try #require(created.data["id"]?.stringValue)
        let before = try await engine.routeEnvironments(id, actor: .console)
        do {
            _ = try await engine.putRouteEnvironment(id, "production", .object([name: wrong]), console)
            Issue.record("\(name): \(wrong) was taken")
        } catch let error as ApiError {
            #expect(error.type == .validationError && error.field == name, "\(error)")
        }
        #expect(try await engine.routeEnvironments(id, actor: .console) == before)
    }
}

/// A route's own fields are described once too (`Route.fields`).
@Suite final class RouteFieldDescriptorTests {
    let fixture: EngineFixture
    let console = RequestContext(actor: .console)
    deinit { fixture.dir.remove() }
    init() throws { fixture = try EngineFixture() }

    @Test func theDocumentDescribesEveryRouteField() {
        let schemas = OpenAPIDocument.document["components"]?["schemas"]
        for field in Route.fields {
            for (schema, input) in [("RouteCreate", field.onCreate), ("RouteUpdate", field.onUpdate)]
            where field.inputSchema != nil {
                #expect(
                    schemas?[schema]?["properties"]?[field.name] == (input == .none ? nil : field.inputSchema),
                    "\(schema).\(field.name)")
            }
            if let output = field.outputSchema {
                #expect(schemas?["Route"]?["properties"]?[field.name] == output, "Route.\(field.name)")
            }
        }
    }

    @Test(arguments: Route.fields.filter { $0.sample != nil }.map(\.name))
    func aRouteFieldIsTakenShownAndKept(name: String) async throws {
        let field = try #require(Route.fields.first { $0.name == name })
        let sample = try #require(field.sample)
        var id = ""
        do {
            let engine = try fixture.engine()
            var body = JSONObject(pairs: [("name", "Route"), ("target_base_url", "https://a.example.com")])
            body[name] = sample
            let created = try await engine.createRoute(.object(body), console).data
            id = try #require(created["id"]?.stringValue)
            #expect(created[name] == sample)
            let updated = try await engine.updateRoute(id, .object([name: sample]), console).data
            #expect(updated[name] == sample)
        }
        let reopened = try fixture.engine()
        #expect(try await reopened.getRoute(id, actor: .console)[name] == sample, "kept by the store")
    }

    /// A route body may send null for a route's own field exactly where the document says so.
    @Test(arguments: Route.fields.filter { $0.inputSchema != nil }.map(\.name))
    func nullIsTakenExactlyWhereTheDocumentSaysSo(name: String) async throws {
        let field = try #require(Route.fields.first { $0.name == name })
        let engine = try fixture.engine()
        let plain: JSONObject = ["name": "Plain", "target_base_url": "https://a.example.com"]
        let id = try #require(try await engine.createRoute(.object(plain), console).data["id"]?.stringValue)
        var create = plain
        create["name"] = "Created"
        create[name] = .null
        let body = JSONValue.object(create)
        var cases: [(String, () async throws -> Void)] = []
        if field.onCreate != .none {
            cases.append(("RouteCreate", { _ = try await engine.createRoute(body, self.console) }))
        }
        if field.onUpdate != .none {
            cases.append(("RouteUpdate", { _ = try await engine.updateRoute(id, [name: .null], self.console) }))
        }
        for (schema, call) in cases {
            let property = OpenAPIDocument.document["components"]?["schemas"]?[schema]?["properties"]?[name]
            let nullable = JSONSchemaProbe.takesNull(try #require(property, "\(schema).\(name)"))
            do {
                try await call()
                #expect(nullable, "\(schema).\(name) = null was taken, but the document refuses it")
            } catch let error as ApiError {
                #expect(
                    !nullable || error.reason != nil, "\(schema).\(name) = null is documented, but refused: \(error)")
                if !nullable { #expect(error.type == .validationError && error.field == name, "\(error)") }
            }
        }
    }
}

/// What a JSON schema of the document admits, read as JSON Schema 2020-12 reads it (for the keywords the document
/// uses on a property: `type`, `const`, `enum`).
enum JSONSchemaProbe {
    static func takesNull(_ schema: JSONValue) -> Bool {
        guard let s = schema.objectValue else { return schema == .bool(true) }
        if let value = s["const"], value != .null { return false }
        if let values = s["enum"]?.arrayValue, !values.contains(.null) { return false }
        switch s["type"] {
        case .string(let type)?: return type == "null"
        case .array(let types)?: return types.contains(.string("null"))
        default: return true
        }
    }
}
