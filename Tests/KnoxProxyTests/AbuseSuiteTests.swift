import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxProxy

/// Requests built to confuse a proxy (smuggling, framing tricks, control bytes, limits, odd targets), sent as raw bytes
/// to the real data-plane listener: each gets its status, leaves a log row, and nothing of it reaches the upstream
/// (issue 21, point 3).
@Suite struct AbuseSuiteTests {
    /// The head's credentials and route, so that a refusal is the framing's doing, not the gate's.
    static let auth = "x-knoxcall-key: KEY\r\nx-knoxcall-route: r\r\n"

    /// (what it is, the bytes — `AUTH` stands for the credentials — the status, the error type).
    static let refused: [(String, String, Int, String)] = [
        (
            "CL.TE",
            "POST / HTTP/1.1\r\nHost: x\r\nAUTHContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", 400,
            "validation_error"
        ),
        (
            "TE.CL",
            "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
            400, "validation_error"
        ),
        (
            "TE.TE duplicate",
            "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n",
            400, "validation_error"
        ),
        (
            "TE list", "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400,
            "validation_error"
        ),
        (
            "TE xchunked", "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400,
            "validation_error"
        ),
        (
            "TE space before colon", "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
            400, "validation_error"
        ),
        (
            "TE folded", "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400,
            "validation_error"
        ),
        (
            "TE in HTTP/1.0", "POST / HTTP/1.0\r\nAUTHTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
            "validation_error"
        ),
        (
            "two lengths", "POST / HTTP/1.1\r\nHost: x\r\nAUTHContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
            "validation_error"
        ),
        (
            "comma-joined lengths", "POST / HTTP/1.1\r\nHost: x\r\nAUTHContent-Length: 3, 3\r\n\r\nabc", 400,
            "validation_error"
        ),
        ("signed length", "POST / HTTP/1.1\r\nHost: x\r\nAUTHContent-Length: +3\r\n\r\nabc", 400, "validation_error"),
        ("hex length", "POST / HTTP/1.1\r\nHost: x\r\nAUTHContent-Length: 0x3\r\n\r\nabc", 400, "validation_error"),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nAUTHX-A: a\r\n b\r\n\r\n", 400, "validation_error"),
        ("bare LF", "GET / HTTP/1.1\nHost: x\r\nAUTH\r\n", 400, "validation_error"),
        ("bare CR", "GET / HTTP/1.1\r\nHost: x\rX-B: 1\r\nAUTH\r\n", 400, "validation_error"),
        ("NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nAUTHX-A: a\u{0}b\r\n\r\n", 400, "validation_error"),
        ("DEL in a value", "GET / HTTP/1.1\r\nHost: x\r\nAUTHX-A: a\u{7F}b\r\n\r\n", 400, "validation_error"),
        ("control in the target", "GET /a\u{1}b HTTP/1.1\r\nHost: x\r\nAUTH\r\n", 400, "validation_error"),
        ("space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\nAUTH\r\n", 400, "validation_error"),
        ("no version", "GET /\r\nHost: x\r\nAUTH\r\n", 400, "validation_error"),
        ("HTTP/2 line", "GET / HTTP/2.0\r\nHost: x\r\nAUTH\r\n", 400, "validation_error"),
        (
            "chunk size not hex",
            "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400,
            "validation_error"
        ),
        (
            "chunk size negative",
            "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n", 400,
            "validation_error"
        ),
        (
            "chunk size huge",
            "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n", 400,
            "validation_error"
        ),
        (
            "chunk without CRLF",
            "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400,
            "validation_error"
        ),
        (
            "chunk extension with a control byte",
            "POST / HTTP/1.1\r\nHost: x\r\nAUTHTransfer-Encoding: chunked\r\n\r\n3;a=\u{1}\r\nabc\r\n0\r\n\r\n", 400,
            "validation_error"
        ),
        ("no Host in 1.1", "GET / HTTP/1.1\r\nAUTH\r\n", 400, "validation_error"),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nAUTH\r\n", 400, "validation_error"),
        ("dot segments", "GET /a/../../etc/passwd HTTP/1.1\r\nHost: x\r\nAUTH\r\n", 400, "validation_error"),
        ("encoded dot segments", "GET /a/%2e%2e/%2E%2E/etc HTTP/1.1\r\nHost: x\r\nAUTH\r\n", 400, "validation_error"),
        (
            "authority form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nAUTH\r\n", 400,
            "validation_error"
        ),
        ("CONNECT with a path", "CONNECT / HTTP/1.1\r\nHost: x\r\nAUTH\r\n", 405, "method_not_allowed"),
        ("asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\nAUTH\r\n", 400, "validation_error"),
        ("TRACE", "TRACE / HTTP/1.1\r\nHost: x\r\nAUTH\r\n", 405, "method_not_allowed"),
        (
            "target over 8 KiB", "GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\nAUTH\r\n",
            414, "uri_too_long"
        ),
        ("endless target", "GET /" + String(repeating: "a", count: 70_000), 414, "uri_too_long"),
        (
            "head over 64 KiB",
            "GET / HTTP/1.1\r\nHost: x\r\nAUTHX-Big: " + String(repeating: "b", count: 70_000) + "\r\n\r\n", 431,
            "request_header_fields_too_large"
        ),
        (
            "257 fields", "GET / HTTP/1.1\r\nHost: x\r\nAUTH" + (0..<257).map { "X-\($0): v\r\n" }.joined() + "\r\n",
            431, "request_header_fields_too_large"
        ),
    ]

    @Test(arguments: 0..<refused.count)
    func refusedAndNeverForwarded(_ index: Int) async throws {
        let (name, template, status, type) = Self.refused[index]
        let p = try await ProxyFixture()
        try await p.route("R")
        let bytes = template.replacingOccurrences(
            of: "AUTH", with: Self.auth.replacingOccurrences(of: "KEY", with: p.key))
        let answer = try await p.raw(bytes)
        #expect(answer.status == status, "\(name)")
        #expect(answer.errorType == type, "\(name)")
        #expect(answer.header("X-Knox-Upstream-Status") == nil, "\(name)")
        // Give a smuggled second request every chance to reach the upstream: none may.
        try await Task.sleep(for: .milliseconds(100))
        #expect(p.upstream.requests.isEmpty, "\(name): \(p.upstream.requests.map(\.uri))")
        #expect(try await p.logs().contains { $0.statusCode == status }, "\(name)")
        #expect(!answer.text.contains(p.key), "\(name)")
    }

    /// What must still work: an absolute-form target (RFC 9112 §3.2.2), HTTP/1.0 without Host, lowercase chunked,
    /// trailers (dropped), pipelined requests in order.
    @Test func legitimateEdgesPass() async throws {
        let p = try await ProxyFixture()
        try await p.route("R", path: "/base")
        let auth = Self.auth.replacingOccurrences(of: "KEY", with: p.key)
        let port = p.port
        let answers = try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            client.send("GET http://elsewhere.example/abs?q=1 HTTP/1.1\r\nHost: elsewhere.example\r\n\(auth)\r\n")
            let absolute = try client.readResponse()
            client.send(
                "POST /up HTTP/1.1\r\nHost: x\r\n\(auth)Transfer-Encoding: Chunked\r\nContent-Type: application/octet-stream\r\n\r\n"
                    + "3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n")
            let chunked = try client.readResponse()
            client.send("GET /one HTTP/1.1\r\nHost: x\r\n\(auth)\r\nGET /two HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
            let one = try client.readResponse()
            let two = try client.readResponse()
            let old = try RawHTTP(port: port)
            defer { old.close() }
            old.send("GET /ten HTTP/1.0\r\n\(auth)\r\n")
            return [absolute, chunked, one, two, try old.readResponse()]
        }
        #expect(answers.map(\.status) == [200, 200, 200, 200, 200])
        #expect(p.upstream.requests.map(\.uri) == ["/base/abs?q=1", "/base/up", "/base/one", "/base/two", "/base/ten"])
        #expect(p.upstream.requests[0].header("Host") != "elsewhere.example")  // the upstream's own Host
        #expect(p.upstream.requests[1].bodyText == "abc")
        #expect(p.upstream.requests[1].header("X-Trailer") == nil)
    }

    /// A caller that closes its side after a request (half-close) ends that request, as nginx does without
    /// `proxy_ignore_client_abort`: the row says 499 `client_closed_request`; nothing hangs, and the listener goes on.
    @Test func aCallerThatHalfClosesEndsItsRequest() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let auth = Self.auth.replacingOccurrences(of: "KEY", with: p.key)
        let port = p.port
        try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            client.send("GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
            client.shutdownWrite()
            #expect(client.closedAfterDraining(within: 3))
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await p.logs().last?.error == "client_closed_request")
        #expect(try await p.call(route: "r").status == 200)
    }
}
