import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Testing

@testable import KnoxProxy

/// The data plane's own HTTP/1.1 decoding on a real socket: pipelined requests, chunked uploads, heads split across
/// reads, and malformed bytes after a request has started.
@Suite struct PipeliningTests {
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        try await p.route("Other")
        let (port, key) = (p.port, p.key)
        let uris = try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            // One write, four requests: a slow one first, a refusal in the middle, a body in one of them.
            client.send(
                "GET /slow?ms=200 HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n"
                    + "GET /missing HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: nope\r\n\r\n"
                    + "POST /second HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: other\r\nContent-Length: 5\r\n\r\nhello"
                    + "GET /third?x=1 HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n")
            var seen: [String] = []
            for _ in 0..<4 {
                let r = try client.readResponse()
                if r.json["slow"]?.boolValue == true {
                    seen.append("slow")
                } else {
                    seen.append(
                        r.status == 200
                            ? (r.json["uri"]?.stringValue ?? "?") + " " + (r.json["body"]?.stringValue ?? "")
                            : "\(r.status)")
                }
            }
            return seen
        }
        #expect(uris == ["slow", "404", "/second hello", "/third?x=1 "])
        #expect(try await p.logs().map(\.path) == ["/slow", "/missing", "/second", "/third"])
    }

    @Test func chunkedUploadsStreamToTheUpstream() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let (port, key) = (p.port, p.key)
        let response = try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            client.send(
                "POST /up HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            // Parts sent apart, one chunk-size line split between two writes.
            client.send("5\r\nhello\r\n")
            Thread.sleep(forTimeInterval: 0.05)
            client.send("f")
            Thread.sleep(forTimeInterval: 0.05)
            client.send(";ext=1\r\n, chunked world\r\n0\r\nX-Trailer: dropped\r\n\r\n")
            return try client.readResponse()
        }
        #expect(response.status == 200)
        let received = try #require(p.upstream.requests.first)
        #expect(received.bodyText == "hello, chunked world")
        #expect(received.header("Transfer-Encoding") == "chunked")
        #expect(received.header("X-Trailer") == nil)
    }

    @Test func aHeadSplitAcrossReadsIsOneRequest() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let (port, key) = (p.port, p.key)
        let response = try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            let text =
                "GET /split HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\nX-Long: "
                + String(repeating: "v", count: 3000) + "\r\n\r\n"
            for piece in stride(from: 0, to: text.utf8.count, by: 700) {
                let bytes = Array(text.utf8)
                client.send(Array(bytes[piece..<min(bytes.count, piece + 700)]))
                Thread.sleep(forTimeInterval: 0.01)
            }
            return try client.readResponse()
        }
        #expect(response.status == 200)
        #expect(p.upstream.requests.first?.header("X-Long")?.count == 3000)
    }

    @Test func malformedChunkingAfterTheRequestWentUpstreamIsRefusedAndLoggedOnce() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let (port, key) = (p.port, p.key)
        let response = try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            client.send(
                "POST /slow?ms=500 HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            client.send("3\r\nabc\r\n")
            Thread.sleep(forTimeInterval: 0.1)
            client.send("zz\r\n")
            return try client.readResponse()
        }
        #expect(response.status == 400)
        #expect(response.errorType == "validation_error")
        #expect(response.header("Connection") == "close")
        let logs = try await p.logs()
        #expect(logs.count == 1)
        #expect(logs.first?.statusCode == 400 && logs.first?.path == "/slow")
        #expect(logs.first?.requestId == response.header("X-Request-Id"))
    }

    /// A keep-alive connection's key is remembered per configuration version: revoking it refuses the very next
    /// request on the same connection.
    @Test func aRevokedKeyIsRefusedOnTheSameConnection() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let key = try await p.engine.makeKey("revocable")
        let keyId = try #require(
            try await p.engine.listApiKeys([:], actor: .console).items.first {
                $0["name"]?.stringValue == "revocable"
            }?["id"]?.stringValue)
        let client = try RawHTTP(port: p.port)
        defer { client.close() }
        let request = "GET / HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n"
        let first = try await blocking {
            client.send(request); return try client.readResponse()
        }
        let second = try await blocking {
            client.send(request); return try client.readResponse()
        }
        #expect(first.status == 200 && second.status == 200)
        _ = try await p.engine.revokeApiKey(keyId, RequestContext(actor: .console))
        let third = try await blocking {
            client.send(request); return try client.readResponse()
        }
        #expect(third.status == 401)
    }

    /// The remembered key is compared with each request's key bytes: on one connection a key differing in its last
    /// character or its length is refused, another valid key is served as itself, and the first key again as itself.
    @Test func eachRequestsKeyIsCheckedOnAKeepAliveConnection() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let other = try await p.engine.makeKey("other")
        let client = try RawHTTP(port: p.port)
        defer { client.close() }
        var altered = p.key
        let last = altered.removeLast()
        altered.append(last == "a" ? "b" : "a")
        var statuses: [Int] = []
        for key in [p.key, altered, p.key, p.key + "x", other, p.key, String(p.key.dropLast())] {
            let request = "GET / HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n\r\n"
            statuses.append(
                try await blocking {
                    client.send(request); return try client.readResponse()
                }.status)
        }
        #expect(statuses == [200, 401, 200, 401, 200, 200, 401])
        // Each served key's rows carry its own id: both keys show a last use.
        await p.engine.flushRequestLog()
        let keys = try await p.engine.listApiKeys([:], actor: .console).items
        for name in ["caller", "other"] {
            let lastUsed = keys.first { $0["name"]?.stringValue == name }?["last_used_at"]
            #expect(lastUsed != nil && lastUsed != .null, "\(name)")
        }
    }

    @Test func anOversizedHeadIsRefused() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let r = try await p.raw("GET / HTTP/1.1\r\nX-Big: " + String(repeating: "b", count: 70_000) + "\r\n\r\n")
        #expect(r.status == 431)
        #expect(r.errorType == "request_header_fields_too_large")
        #expect(p.upstream.requests.isEmpty)
        #expect(try await p.logs().first?.statusCode == 431)
    }
}
