import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxAPI
@testable import KnoxEngine

/// An operation's query parameters are described once (`Operation.query`): the document lists them and the handler
/// reads them, so what the one says and the other takes cannot drift apart.
@Suite struct QueryDescriptorTests {
    /// Operations whose handler checks its whole query (the others read one `environment` parameter and no more).
    static let checked = Operations.all.filter { op in
        op.method == "GET" && op.query.parameters.contains { $0.kind != .name }
    }.map(\.operationId)

    @Test(arguments: checked)
    func theHandlerTakesExactlyTheDocumentedParameters(operationId: String) async throws {
        let api = try await APIFixture()
        let op = try #require(Operations.all.first { $0.operationId == operationId })
        let path = op.path.replacingOccurrences(of: "{id}", with: "missing-route")
        // An unknown parameter is refused, and the refusal lists the documented ones.
        let unknown = await api.call("GET", "\(path)?not_a_parameter=1")
        #expect(unknown.status == 400)
        #expect(unknown.json["error"]?["field"] == "not_a_parameter")
        let documented = op.query.parameters.map(\.name).sorted().joined(separator: ", ")
        #expect(unknown.json["error"]?["message"]?.stringValue?.hasSuffix("allowed: \(documented)") == true)
        // Every documented parameter is taken with a value its schema allows, and refused by name with one it does not.
        for parameter in op.query.parameters {
            let (good, bad) = Self.values(parameter.kind)
            let accepted = await api.call("GET", "\(path)?\(parameter.name)=\(good)")
            #expect(accepted.json["error"]?["field"] != .string(parameter.name), "\(parameter.name)=\(good)")
            let refused = await api.call("GET", "\(path)?\(parameter.name)=\(bad)")
            #expect(refused.status == 400, "\(parameter.name)=\(bad)")
            #expect(refused.json["error"]?["field"] == .string(parameter.name), "\(refused.json)")
        }
    }

    static func values(_ kind: QueryParameter.Kind) -> (good: String, bad: String) {
        switch kind {
        case .boolean: ("true", "maybe")
        case .integer(let range): (String(range.lowerBound), String(range.upperBound + 1))
        case .oneOf(let values): (values[0], "not-one-of-them")
        case .text(let maxLength): ("x", String(repeating: "x", count: maxLength + 1))
        case .time: ("2026-01-15T09:30:00Z", "yesterday")
        case .cursor: ("0", "-1")
        case .name: ("production", "")
        }
    }

    /// A resource's sort keys are stated once, beside its fields (`Client.sortKeys`): each names a stored field (its
    /// column, which the store sorts by), and a list sorted by it comes back in that order.
    @Test func everySortKeyIsAStoredFieldAndOrdersTheList() async throws {
        let stored: [(String, [String], Set<String>)] = [
            ("routes", Route.sortKeys, Set(Route.fields.filter(\.isStored).map(\.name))),
            ("secrets", Secret.sortKeys, Set(Secret.fields.filter(\.isStored).map(\.name))),
            ("clients", Client.sortKeys, Set(Client.fields.filter(\.isStored).map(\.name))),
            ("api-keys", ApiKey.sortKeys, Set(ApiKey.fields.filter(\.isStored).map(\.name))),
        ]
        let api = try await APIFixture()
        for (i, name) in ["Bravo", "alpha", "Charlie"].enumerated() {
            let made = [
                await api.call(
                    "POST", "/v1/routes",
                    body: #"{"name":"\#(name)","target_base_url":"https://example.com","enabled":\#(i != 1)}"#),
                await api.call("POST", "/v1/secrets", body: #"{"name":"\#(name)","value":"v\#(i)"}"#),
                await api.call(
                    "POST", "/v1/clients",
                    body:
                        #"{"name":"\#(name)","ip_address":"198.51.100.\#(9 - i)","type":"\#(i == 0 ? "user" : "server")"}"#
                ),
                await api.call("POST", "/v1/api-keys", body: #"{"name":"\#(name)","never_expires":true}"#),
            ]
            #expect(made.allSatisfy { $0.status == 201 }, "\(made.map(\.json))")
        }
        for (path, keys, columns) in stored {
            #expect(!keys.isEmpty)
            for key in keys {
                #expect(columns.contains(key), "\(path): sort key \(key) is not a stored field")
                let listed = await api.call("GET", "/v1/\(path)?sort=\(key)&order=asc&per_page=100")
                #expect(listed.status == 200, "\(path)?sort=\(key): \(listed.json)")
                let values = listed.json["data"]?.arrayValue?.map { $0[key] ?? .null } ?? []
                #expect(values.count >= 3, "\(path)")
                let texts = values.map { v -> String in
                    switch v {
                    case .string(let s): s
                    case .bool(let b): b ? "1" : "0"
                    default: ""
                    }
                }
                // The store compares as SQLite does: text byte by byte (BINARY), flags as 0 and 1, nulls first.
                #expect(
                    texts == texts.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) },
                    "\(path)?sort=\(key): \(texts)")
            }
        }
    }
}
