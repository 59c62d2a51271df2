import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxProxy

/// An upstream answer that is not valid HTTP is reported as such (502 `upstream_invalid_response`), not as a closed
/// connection, and the connection is never reused.
@Suite struct UpstreamAnswerTests {
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "HTTP/1.1 2000 Nope\r\n\r\n", "garbage\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
    ])
    func malformedAnswersAreNamed(answer: String) async throws {
        let p = try await ProxyFixture()
        let upstream = try ScriptedUpstream(answer: answer)
        defer { upstream.stop() }
        _ = try await p.engine.createRoute(json(#"{"name":"Bad","target_base_url":"\#(upstream.url)"}"#), console)
        let r = try await p.call(route: "bad")
        #expect(r.status == 502, "\(answer)")
        #expect(r.errorType == "upstream_invalid_response", "\(answer)")
        #expect(r.json["error"]?["message"]?.stringValue?.contains("not valid HTTP") == true)
        #expect(try await p.logs().last?.error == "upstream_invalid_response")
    }
}
