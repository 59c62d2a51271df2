import Foundation
import KnoxAPI
import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Logging
import Testing

/// A live and a test management API over one temporary data directory, driven in process.
final class APIFixture: Sendable {
    let fixture: EngineFixture
    let live: Engine
    let test: Engine
    let liveAPI: ManagementAPI
    let testAPI: ManagementAPI
    let liveKey: String
    let testKey: String

    init(config: KnoxConfig = KnoxConfig()) async throws {
        fixture = try EngineFixture(config: config)
        live = try fixture.engine(.live)
        test = try fixture.engine(.test)
        liveAPI = ManagementAPI(engine: live)
        testAPI = ManagementAPI(engine: test)
        liveKey = try await live.makeKey("live admin")
        testKey = try await test.makeKey("test admin")
    }

    deinit { fixture.dir.remove() }

    func call(
        _ method: String, _ target: String, body: String? = nil, key: String? = nil, mode: Mode = .live,
        headers: [(String, String)] = []
    ) async -> (status: Int, json: JSONValue, response: APIResponse) {
        let (path, query) = APIRequest.split(target: target)
        var h = headers
        let credential = key ?? (mode == .live ? liveKey : testKey)
        if !credential.isEmpty { h.append(("Authorization", "Bearer \(credential)")) }
        if body != nil { h.append(("Content-Type", "application/json")) }
        let request = APIRequest(
            method: method, path: path, rawQuery: query, headers: h, body: Array((body ?? "").utf8),
            remoteAddress: "127.0.0.1")
        let response = await (mode == .live ? liveAPI : testAPI).handle(request)
        var head = "HTTP \(response.status)\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        Capture.record("api-response", Array((head + "\r\n").utf8) + response.body)
        return (response.status, (try? JSONValue.parse(response.body)) ?? .null, response)
    }
}

extension APIFixture {
    /// A fixture whose live management API listens on a real loopback socket (a free port) for the length of `body`,
    /// with the listener limits and statistics of `config`.
    static func withListener(config: KnoxConfig = KnoxConfig(), _ body: (APIFixture, Int) async throws -> Void)
        async throws
    {
        let api = try await APIFixture(config: config)
        let handler = api.liveAPI
        let listener = HTTPListener(
            address: ListenAddress(host: "127.0.0.1", port: 0), name: "test", limits: config.managementLimits,
            stats: api.live.connectionStats, logger: Logger(label: "test")
        ) { await handler.handle($0) }
        let port = try await listener.bind()
        let task = Task { try await listener.serve() }
        defer {
            listener.close()
            task.cancel()
        }
        try await body(api, port)
    }
}

extension APIResponse {
    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
}
