import KnoxCore
import KnoxEngine

/// The response envelope of the reference's introduction page.
enum Envelope {
    static func baseHeaders(_ requestId: String) -> [(name: String, value: String)] {
        [
            ("Content-Type", "application/json; charset=utf-8"), ("X-Request-Id", requestId),
            ("KnoxCall-Version", ManagementAPI.apiVersion), ("Cache-Control", "no-store"),
        ]
    }

    static func success(_ result: APIResult, requestId: String, headers: [(String, String)]) -> APIResponse {
        var meta: JSONObject = [:]
        let data: JSONValue
        var status = 200
        var responseHeaders = baseHeaders(requestId)
        switch result {
        case .single(let value, let s):
            data = value
            status = s
        case .page(let page):
            data = .array(page.items)
            meta["total"] = .int(page.total)
            meta["page"] = .int(page.request.page)
            meta["per_page"] = .int(page.request.perPage)
            meta["total_pages"] = .int(page.totalPages)
        case .feed(let feed, let dedupeOn):
            data = .array(feed.items)
            meta["next_cursor"] = .string(feed.nextCursor)
            meta["limit"] = .int(feed.limit)
            meta["delivery"] = "at_least_once"
            meta["dedupe_on"] = .string(dedupeOn)
            meta["watermark_seconds"] = 0
        case .mutation(let m):
            data = m.data
            status = m.status
            if m.replayed {
                responseHeaders.append(("Idempotent-Replayed", "true"))
                meta["request_id"] = .string(m.requestId)
                meta["idempotent_replayed"] = true
            }
        case .document(let doc):
            return APIResponse(
                status: 200, headers: responseHeaders + headers, body: doc.prettySerialized().utf8.map { $0 })
        }
        if meta["request_id"] == nil { meta["request_id"] = .string(requestId) }
        let body: JSONValue = ["data": data, "meta": .object(meta)]
        return APIResponse(status: status, headers: responseHeaders + headers, body: body.serializedBytes())
    }

    static func failure(_ error: ApiError, requestId: String, headers: [(String, String)]) -> APIResponse {
        var inner: JSONObject = [
            "type": .string(error.type.rawValue), "message": .string(error.message), "request_id": .string(requestId),
        ]
        if let field = error.field, error.type != .methodNotAllowed { inner["field"] = .string(field) }
        if let reason = error.reason { inner["reason"] = .string(reason.rawValue) }
        var responseHeaders = baseHeaders(requestId) + headers
        if let retry = error.retryAfter { responseHeaders.append(("Retry-After", String(retry))) }
        var response = APIResponse(
            status: error.status, headers: responseHeaders,
            body: JSONValue.object(["error": .object(inner)]).serializedBytes())
        response.closeConnection = error.type == .payloadTooLarge
        return response
    }

    /// The 413 answer the listener sends before reading an oversized body.
    static func tooLarge() -> APIResponse {
        failure(
            ApiError(.payloadTooLarge, "The request body is larger than \(ManagementAPI.maxBodyBytes) bytes (1 MiB)"),
            requestId: Identifier.requestID(), headers: [])
    }
}
