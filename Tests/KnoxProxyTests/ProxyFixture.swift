import Foundation
import KnoxCore
import KnoxDataPlane
import KnoxEngine
import KnoxTestSupport
import Logging
import NIOPosix
import Testing

@testable import KnoxProxy

/// An engine, a real upstream and the data plane on loopback ports, all in process.
final class ProxyFixture: @unchecked Sendable {
    let fixture: EngineFixture
    let engine: Engine
    let upstream: TestUpstream
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let proxy: ProxyServer
    let port: Int
    let key: String
    let serving: Task<Void, Error>

    init(mode: Mode = .live, config: KnoxConfig = KnoxConfig()) async throws {
        fixture = try EngineFixture(config: config)
        engine = try fixture.engine(mode)
        upstream = try TestUpstream()
        proxy = try ProxyServer(
            port: engine, address: ListenAddress(host: "127.0.0.1", port: 0), group: group,
            logger: Logger(label: "test"))
        port = try await proxy.bind()
        let proxy = proxy
        serving = Task { try await proxy.run() }
        key = try await engine.makeKey("caller")
    }

    deinit {
        proxy.close()
        serving.cancel()
        upstream.stop()
        try? group.syncShutdownGracefully()
        fixture.dir.remove()
    }

    /// Creates a route pointing at the test upstream (`extra` is more JSON fields).
    @discardableResult
    func route(_ name: String, path: String = "", extra: String = "") async throws -> JSONValue {
        let body =
            #"{"name":"\#(name)","target_base_url":"\#(upstream.url)\#(path)"\#(extra.isEmpty ? "" : "," + extra)}"#
        return try await engine.createRoute(try JSONValue.parse(body), RequestContext(actor: .console)).data
    }

    @discardableResult
    func secret(_ name: String, _ value: String) async throws -> String {
        let body: JSONValue = ["name": .string(name), "value": .string(value)]
        return try await engine.createSecret(body, RequestContext(actor: .console)).data["id"]?.stringValue ?? ""
    }

    /// One request through the data plane, with our key unless `key` is given ("" for none).
    func call(
        _ method: String = "GET", _ path: String = "/", route: String?, key: String? = nil,
        headers: [String: String] = [:],
        body: String? = nil
    ) async throws -> RawHTTP.Response {
        var h = headers
        let credential = key ?? self.key
        if !credential.isEmpty { h["x-knoxcall-key"] = credential }
        if let route { h["x-knoxcall-route"] = route }
        let port = port
        let finalHeaders = h
        return try await blocking {
            try RawHTTP.request(port: port, method: method, path: path, headers: finalHeaders, body: body)
        }
    }

    /// Raw bytes on a fresh connection; returns the first response.
    func raw(_ text: String) async throws -> RawHTTP.Response {
        let port = port
        return try await blocking { try RawHTTP.exchange(port: port, text) }
    }

    /// Everything logged so far, oldest first.
    func logs() async throws -> [RequestLogEntry] {
        await engine.flushRequestLog()
        return try await engine.requestLogFeed(["limit": "1000"], actor: .console).items.map { row in
            RequestLogEntry(
                seq: Int64(row["id"]?.stringValue ?? "0") ?? 0, requestId: row["request_id"]?.stringValue ?? "",
                routeId: row["route_id"]?.stringValue, ts: 0, srcIp: row["src_ip"]?.stringValue,
                method: row["method"]?.stringValue ?? "", path: row["path"]?.stringValue ?? "",
                statusCode: row["status_code"]?.intValue, upstreamStatus: row["upstream_status"]?.intValue,
                error: row["error"]?.stringValue, environment: row["environment"]?.stringValue,
                rateLimited: row["rate_limited"]?.boolValue ?? false, signatureValid: row["signature_valid"]?.boolValue,
                matchedClientId: row["matched_client_id"]?.stringValue,
                identificationMethod: row["identification_method"]?.stringValue)
        }
    }
}

extension RawHTTP.Response {
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    var errorType: String? { json["error"]?["type"]?.stringValue }
    /// The headers the test upstream saw, from its echo.
    var echoedHeader: (String) -> String? {
        let headers = json["headers"]?.objectValue
        return { name in headers?.first { $0.key.lowercased() == name.lowercased() }?.value.stringValue }
    }
}

let console = RequestContext(actor: .console)
func json(_ text: String) -> JSONValue { (try? JSONValue.parse(text)) ?? .null }
