import Foundation
import KnoxAPI
import KnoxCore
import KnoxEngine
import KnoxTestSupport
import Logging
import Testing

/// The abuse suite on the management listener, over a real socket: each request built to confuse a server gets its
/// status and changes nothing (issue 21, point 3).
@Suite struct ListenerAbuseTests {
    /// (what it is, the bytes — `AUTH` stands for the key header — the status).
    static let cases: [(String, String, Int)] = [
        (
            "CL.TE",
            "POST /v1/environments HTTP/1.1\r\nHost: x\r\nAUTHContent-Type: application/json\r\nContent-Length: 19\r\nTransfer-Encoding: chunked\r\n\r\n{\"name\":\"smuggled\"}",
            400
        ),
        (
            "two lengths",
            "POST /v1/environments HTTP/1.1\r\nHost: x\r\nAUTHContent-Type: application/json\r\nContent-Length: 19\r\nContent-Length: 20\r\n\r\n{\"name\":\"smuggled\"} ",
            400
        ),
        ("obs-fold", "GET /v1/account HTTP/1.1\r\nHost: x\r\nAUTHX-A: a\r\n b\r\n\r\n", 400),
        ("bare LF", "GET /v1/account HTTP/1.1\nHost: x\r\nAUTH\r\n", 400),
        ("NUL in a value", "GET /v1/account HTTP/1.1\r\nHost: x\r\nAUTHX-A: a\u{0}b\r\n\r\n", 400),
        (
            "bad chunk size",
            "POST /v1/environments HTTP/1.1\r\nHost: x\r\nAUTHContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{\"name\":\"smuggled\"}\r\n0\r\n\r\n",
            400
        ),
        ("no Host", "GET /v1/account HTTP/1.1\r\nAUTH\r\n", 400),
        ("two Hosts", "GET /v1/account HTTP/1.1\r\nHost: a\r\nHost: b\r\nAUTH\r\n", 400),
        (
            "target over 8 KiB",
            "GET /v1/account?x=" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\nAUTH\r\n", 414
        ),
        (
            "head over 64 KiB",
            "GET /v1/account HTTP/1.1\r\nHost: x\r\nAUTHX-Big: " + String(repeating: "b", count: 70_000) + "\r\n\r\n",
            431
        ),
        (
            "257 fields",
            "GET /v1/account HTTP/1.1\r\nHost: x\r\nAUTH" + (0..<257).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431
        ),
        ("HTTP/2 line", "GET /v1/account HTTP/2.0\r\nHost: x\r\nAUTH\r\n", 400),
    ]

    @Test func everyCaseIsRefusedAndChangesNothing() async throws {
        try await APIFixture.withListener { api, port in
            let auth = "x-api-key: \(api.liveKey)\r\n"
            for (name, template, status) in Self.cases {
                let bytes = template.replacingOccurrences(of: "AUTH", with: auth)
                let answer = try await blocking { try RawHTTP.exchange(port: port, bytes) }
                #expect(answer.status == status, "\(name)")
                #expect(!answer.text.contains(api.liveKey), "\(name)")
            }
            // No environment was created by a smuggled body (each would have been a valid one), and the listener
            // still serves.
            let environments = try await api.live.listEnvironments([:], actor: .console)
            #expect(environments.arrayValue?.count == 1)
            let ok = try await blocking {
                try RawHTTP.request(port: port, method: "GET", path: "/v1/account", headers: ["x-api-key": api.liveKey])
            }
            #expect(ok.status == 200)
        }
    }
}
