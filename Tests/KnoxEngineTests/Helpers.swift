import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

/// Expects `body` to fail with an `ApiError` of `type` (and `field`, when given); returns the error.
@discardableResult
func expectApiError(
    _ type: ErrorType, field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> some Any
) async -> ApiError? {
    do {
        _ = try await body()
        Issue.record("expected \(type.rawValue), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as ApiError {
        #expect(error.type == type, "\(error)", sourceLocation: sourceLocation)
        if let field { #expect(error.field == field, "\(error)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("expected ApiError \(type.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

func json(_ text: String) -> JSONValue {
    (try? JSONValue.parse(text)) ?? .null
}

let console = RequestContext(actor: .console)

extension Engine {
    @discardableResult
    func route(_ body: String) async throws -> JSONValue { try await createRoute(json(body), console).data }
    @discardableResult
    func secret(_ name: String, _ value: String, extra: String = "") async throws -> JSONValue {
        try await createSecret(json(#"{"name":"\#(name)","value":"\#(value)"\#(extra)}"#), console).data
    }
    func audit() async throws -> [JSONValue] {
        try await listAuditLogs(["per_page": "100", "order": "asc"], actor: .console).items
    }
}
