import KnoxCore
import KnoxEngine

/// What an operation answers with, before the envelope is put around it.
public enum APIResult: Sendable {
    /// `{"data": value, "meta": {"request_id"}}`.
    case single(JSONValue, status: Int = 200)
    /// A paginated list with `total`, `page`, `per_page`, `total_pages`.
    case page(Page<JSONValue>)
    /// A keyset feed with `next_cursor`; `dedupeOn` names the field clients deduplicate on.
    case feed(FeedPage, dedupeOn: String)
    /// A mutation's answer, possibly replayed from the idempotency store.
    case mutation(MutationAnswer)
    /// A document that is not enveloped (the OpenAPI document).
    case document(JSONValue)
}

/// Everything an operation's handler needs.
public struct OperationInput: Sendable {
    public let engine: Engine
    public let request: APIRequest
    /// Decoded path parameters by name.
    public let parameters: [String: String]
    public let query: [String: String]
    /// The parsed JSON body, when the operation takes one and the request carried one.
    public let body: JSONValue?
    public let context: RequestContext

    public var actor: Actor { context.actor }

    /// A path parameter; the router only calls a handler when all of its parameters are present.
    public func parameter(_ name: String) -> String { parameters[name] ?? "" }

    /// The body, or a `validation_error` when the operation needs one and there was none.
    public func requiredBody() throws(ApiError) -> JSONValue {
        guard let body else { throw ApiError(.validationError, "body: a JSON object is required", field: "body") }
        return body
    }
}

/// One operation of the management API: the single table that drives routing, authentication, and the OpenAPI
/// document.
public struct Operation: Sendable {
    public enum BodyKind: Sendable {
        case none
        case optional
        case required
    }

    public let method: String
    /// `/v1/routes/{id}`: literal segments and `{name}` parameters.
    public let path: String
    public let operationId: String
    public let summary: String
    public let tag: String
    public let requiresAuth: Bool
    public let body: BodyKind
    /// The OpenAPI schema name of the request body and of the answer's `data`.
    public let requestSchema: String?
    public let responseSchema: String
    public let responseKind: ResponseKind
    /// False for an operation the router serves (the SDK calls it) but the OpenAPI document leaves out, because it
    /// only ever refuses in this version: a client generated from the document must not be promised it.
    public let documented: Bool
    public let handler: @Sendable (OperationInput) async throws -> APIResult
    /// Its query parameters, as the handler reads them (the document's `in: query` parameters come from here).
    public let query: QueryDescriptor

    public enum ResponseKind: Sendable {
        case single(status: Int)
        case list
        case page
        case feed
        case document
    }

    let segments: [Segment]

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public init(
        _ method: String, _ path: String, id operationId: String, _ summary: String, tag: String,
        query: QueryDescriptor = .none, auth: Bool = true, body: BodyKind = .none, request: String? = nil,
        response: String,
        kind: ResponseKind = .single(status: 200), documented: Bool = true,
        handler: @escaping @Sendable (OperationInput) async throws -> APIResult
    ) {
        self.method = method
        self.path = path
        self.operationId = operationId
        self.summary = summary
        self.tag = tag
        self.query = query
        self.requiresAuth = auth
        self.body = body
        self.requestSchema = request
        self.responseSchema = response
        self.responseKind = kind
        self.documented = documented
        self.handler = handler
        segments = path.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}")
                ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }

    /// The path parameters if `pathSegments` (already decoded) fits this operation's path.
    func match(_ pathSegments: [String]) -> [String: String]? {
        guard pathSegments.count == segments.count else { return nil }
        var params: [String: String] = [:]
        for (segment, actual) in zip(segments, pathSegments) {
            switch segment {
            case .literal(let l): if l != actual { return nil }
            case .parameter(let name):
                guard !actual.isEmpty else { return nil }
                params[name] = actual
            }
        }
        return params
    }

    /// Literal segments weigh more than parameters, so `/v1/audit-logs/events` wins over `/v1/audit-logs/{id}`.
    var specificity: Int {
        var score = 0
        for segment in segments {
            score *= 2
            if case .literal = segment { score += 1 }
        }
        return score
    }
}
