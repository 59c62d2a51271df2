import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Logging
import Testing

/// The management API over a real socket on loopback.
@Suite struct ListenerTests {
    func withListener(_ body: (APIFixture, Int) async throws -> Void) async throws {
        try await APIFixture.withListener(body)
    }

    @Test func servesOverTheWire() async throws {
        try await withListener { api, port in
            let key = api.liveKey
            let r = try await blocking {
                try RawHTTP.request(
                    port: port, method: "GET", path: "/v1/routes", headers: ["Authorization": "Bearer \(key)"])
            }
            #expect(r.status == 200)
            #expect(r.header("X-Request-Id")?.hasPrefix("req_") == true)
            #expect(try JSONValue.parse(r.body)["meta"]?["total"] == 0)
        }
    }

    @Test func keepAliveAndPipelining() async throws {
        try await withListener { api, port in
            let key = api.liveKey
            let (first, second, third) = try await blocking {
                let client = try RawHTTP(port: port)
                defer { client.close() }
                let request = "GET /v1/account HTTP/1.1\r\nHost: x\r\nx-api-key: \(key)\r\n\r\n"
                client.send(request + request)
                let first = try client.readResponse()
                let second = try client.readResponse()
                client.send(request)
                return (first, second, try client.readResponse())
            }
            #expect(first.status == 200 && second.status == 200 && third.status == 200)
            #expect(first.header("X-Request-Id") != second.header("X-Request-Id"))
        }
    }

    @Test func oversizedBodyIs413BeforeItIsRead() async throws {
        try await withListener { api, port in
            let key = api.liveKey
            let r = try await blocking {
                let client = try RawHTTP(port: port)
                defer { client.close() }
                client.send(
                    "POST /v1/routes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{"
                )
                return try client.readResponse()
            }
            #expect(r.status == 413)
            #expect(try JSONValue.parse(r.body)["error"]?["type"] == "payload_too_large")
            #expect(r.header("Connection") == "close")
        }
    }

    @Test func oversizedChunkedBodyIs413() async throws {
        try await withListener { api, port in
            let key = api.liveKey
            let answered = try await blocking {
                let client = try RawHTTP(port: port)
                defer { client.close() }
                client.send(
                    "POST /v1/routes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                let chunk = String(repeating: "a", count: 65536)
                for _ in 0..<20 {
                    guard client.send(Array("10000\r\n\(chunk)\r\n".utf8)) else { break }
                }
                return try client.readResponse()
            }
            #expect(answered.status == 413)
            #expect(try await api.live.listRoutes([:], actor: .console).total == 0)
        }
    }

    @Test func malformedRequestLineGets400() async throws {
        try await withListener { _, port in
            let r = try await blocking {
                let client = try RawHTTP(port: port)
                defer { client.close() }
                client.send("THIS IS NOT HTTP\r\n\r\n")
                return try client.readResponse()
            }
            #expect(r.status == 400)
        }
    }
}
