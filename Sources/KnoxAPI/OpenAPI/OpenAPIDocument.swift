import KnoxCore
import KnoxEngine

/// The OpenAPI 3.1 document of the management API, built from the operation table and the schema catalogue.
///
/// `openapi.json` at the top of the repository is this document, committed; a test fails when the two differ or
/// when the document and the router disagree on the set of operations.
public enum OpenAPIDocument {
    public static let document: JSONValue = build()

    static func build() -> JSONValue {
        var paths = JSONObject()
        var byPath: [String: [Operation]] = [:]
        var order: [String] = []
        for op in Operations.all where op.documented {
            if byPath[op.path] == nil { order.append(op.path) }
            byPath[op.path, default: []].append(op)
        }
        for path in order {
            var item = JSONObject()
            for op in byPath[path] ?? [] { item[op.method.lowercased()] = operation(op) }
            paths[path] = .object(item)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "KnoxCall management API (self-hosted)",
                "version": .string(ManagementAPI.apiVersion),
                "description": .string(
                    "Manage routes, secrets, clients, environments, API keys and logs of a self-hosted KnoxCall. "
                        + "Live (production) and Test (sandbox) are served on separate listeners with separate "
                        + "databases and keys. Every answer is enveloped in {data, meta}; errors in {error}."),
            ],
            "servers": [
                ["url": "http://127.0.0.1:8700", "description": "Live (production)"],
                ["url": "http://127.0.0.1:8701", "description": "Test (sandbox)"],
            ],
            "security": [["bearerAuth": []], ["apiKeyHeader": []]],
            "tags": .array(
                ["Routes", "Secrets", "Clients", "Environments", "API keys", "Audit logs", "Logs", "Account", "Meta"]
                    .map {
                        ["name": .string($0)]
                    }),
            "paths": .object(paths),
            "components": [
                "securitySchemes": [
                    "bearerAuth": [
                        "type": "http", "scheme": "bearer",
                        "description":
                            "tk_live_…, tk_test_… or AKE… key, or a kc_live_…/kc_test_… OAuth access token (DPoP-bound tokens use the DPoP scheme with a DPoP proof header)",
                    ],
                    "apiKeyHeader": ["type": "apiKey", "in": "header", "name": "x-api-key"],
                ],
                "schemas": .object(Schemas.all),
                "responses": .object(errorResponses()),
            ],
        ]
    }

    static func operation(_ op: Operation) -> JSONValue {
        var o: JSONObject = [
            "operationId": .string(op.operationId), "summary": .string(op.summary), "tags": [.string(op.tag)],
        ]
        var parameters: [JSONValue] = op.segments.compactMap {
            guard case .parameter(let name) = $0 else { return nil }
            return ["name": .string(name), "in": "path", "required": true, "schema": ["type": "string"]]
        }
        for (name, schema, description) in QueryParameters.of(op) {
            parameters.append([
                "name": .string(name), "in": "query", "required": false, "schema": schema,
                "description": .string(description),
            ])
        }
        if op.requiresAuth {
            parameters.append(
                [
                    "name": "KnoxCall-Version", "in": "header", "required": false,
                    "schema": ["type": "string", "enum": [.string(ManagementAPI.apiVersion)]],
                ])
            if op.method != "GET" {
                parameters.append(
                    [
                        "name": "X-Idempotency-Key", "in": "header", "required": false,
                        "schema": ["type": "string", "pattern": "^[!-~]{1,255}$"],
                        "description":
                            "1-255 printable ASCII characters, no spaces. A repeat within 24 hours gets the first response again and changes nothing.",
                    ])
            }
        }
        if !parameters.isEmpty { o["parameters"] = .array(parameters) }
        if let request = op.requestSchema {
            o["requestBody"] = [
                "required": .bool(op.body == .required),
                "content": ["application/json": ["schema": S.ref(request)]],
            ]
        }
        var responses = JSONObject()
        let status: String
        let schema: JSONValue
        let meta = S.ref("Meta")
        switch op.responseKind {
        case .single(let s):
            status = String(s)
            schema = S.object(["data": S.ref(op.responseSchema), "meta": meta])
        case .list:
            status = "200"
            schema = S.object(["data": S.array(S.ref(op.responseSchema)), "meta": meta])
        case .page:
            status = "200"
            schema = S.object(["data": S.array(S.ref(op.responseSchema)), "meta": S.ref("PageMeta")])
        case .feed:
            status = "200"
            schema = S.object(["data": S.array(S.ref(op.responseSchema)), "meta": S.ref("FeedMeta")])
        case .document:
            status = "200"
            schema = ["type": "object"]
        }
        var success: JSONObject = ["description": "Success", "content": ["application/json": ["schema": schema]]]
        let links = links(from: op)
        if !links.isEmpty { success["links"] = .object(links) }
        responses[status] = .object(success)
        for code in errorCodes(op) { responses[code] = ["$ref": .string("#/components/responses/Error\(code)")] }
        o["responses"] = .object(responses)
        if !op.requiresAuth { o["security"] = [] }
        return .object(o)
    }

    /// OpenAPI links from a create (its `data.id`) or a listing (its first row) to every operation on the resource
    /// below it, so that clients and the stateful contract test can follow them: `POST /v1/routes` → `GET`,
    /// `PATCH`, `DELETE /v1/routes/{id}` and its environments and clients; `GET /v1/logs` → `GET /v1/logs/{request_id}`.
    static func links(from op: Operation) -> JSONObject {
        let expression: (String) -> String
        switch op.responseKind {
        case .single(status: 201): expression = { "$response.body#/data/\($0)" }
        case .page, .list, .feed: expression = { "$response.body#/data/0/\($0)" }
        default: return [:]
        }
        var out = JSONObject()
        for target in Operations.all where target.documented && target.segments.count > op.segments.count {
            guard Array(target.segments.prefix(op.segments.count)) == op.segments,
                case .parameter(let name) = target.segments[op.segments.count]
            else { continue }
            out[target.operationId] = [
                "operationId": .string(target.operationId), "parameters": [.init(name): .string(expression(name))],
            ]
        }
        return out
    }

    static func errorCodes(_ op: Operation) -> [String] {
        var codes = ["400"]
        if op.requiresAuth { codes += ["401", "403", "429"] }
        if op.path.contains("{") { codes.append("404") }
        if op.method != "GET" { codes += ["409"] }
        if op.body != .none { codes += ["413", "415"] }
        // The listener's own limits, before any operation is chosen.
        codes += ["414", "431", "500"]
        return codes
    }

    static func errorResponses() -> JSONObject {
        let descriptions = [
            "400":
                "validation_error (the message names the field), conflicting_expiry_fields, invalid_expiry, invalid_type",
            "401": "authentication_required or invalid_api_key",
            "403": "wrong_key_type, forbidden, privilege_escalation, plan_limit",
            "404": "not_found",
            "409": "conflict or in_use",
            "413": "payload_too_large (bodies over 1 MiB)",
            "414": "uri_too_long (a request target over 8 KiB)",
            "415": "unsupported_media_type",
            "429": "rate_limit_exceeded (with Retry-After)",
            "431": "request_header_fields_too_large (a head over 64 KiB or 256 fields)",
            "500": "internal_error",
        ]
        var out = JSONObject()
        for (code, description) in descriptions.sorted(by: { $0.key < $1.key }) {
            out["Error\(code)"] = [
                "description": .string(description),
                "content": ["application/json": ["schema": S.ref("Error")]],
            ]
        }
        return out
    }
}
