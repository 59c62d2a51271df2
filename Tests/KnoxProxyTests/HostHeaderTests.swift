import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxProxy

/// RFC 9112 §3.2 on the data plane: an HTTP/1.1 request has exactly one Host, any request at most one, with a valid
/// value; anything else is a 400 that reaches no upstream.
@Suite struct HostHeaderTests {
    @Test(arguments: [
        "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n", "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n", "GET / HTTP/1.1\r\nHost: a/b\r\n",
    ])
    func refused(head: String) async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let answer = try await p.raw(head + "x-knoxcall-key: \(p.key)\r\nx-knoxcall-route: r\r\n\r\n")
        #expect(answer.status == 400 && answer.errorType == "validation_error")
        #expect(p.upstream.requests.isEmpty)
        #expect(try await p.logs().first?.statusCode == 400)
    }

    @Test func oneHostOrNoneIn10Pass() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        for head in ["GET / HTTP/1.1\r\nHost: [::1]:8800\r\n", "GET / HTTP/1.0\r\n", "GET / HTTP/1.1\r\nHost: \r\n"] {
            let answer = try await p.raw(head + "x-knoxcall-key: \(p.key)\r\nx-knoxcall-route: r\r\n\r\n")
            #expect(answer.status == 200, "\(head)")
        }
    }
}
