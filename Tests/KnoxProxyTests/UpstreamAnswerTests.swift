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

    /// The connection a malformed answer came on is closed, never pooled: each request to that upstream opens a new
    /// one. Against it, an upstream that answers well is reused (at most one connection per event loop of the data
    /// plane, each loop having its own pool), so the count tells a reused connection from a fresh one.
    @Test func aMalformedAnswersConnectionIsNeverReused() async throws {
        let p = try await ProxyFixture()
        let good = try ScriptedUpstream(answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let bad = try ScriptedUpstream(answer: "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n")
        defer {
            good.stop()
            bad.stop()
        }
        _ = try await p.engine.createRoute(json(#"{"name":"Good","target_base_url":"\#(good.url)"}"#), console)
        _ = try await p.engine.createRoute(json(#"{"name":"Bad","target_base_url":"\#(bad.url)"}"#), console)
        let rounds = 4
        for _ in 0..<rounds {
            #expect(try await p.call(route: "good").status == 200)
            let r = try await p.call(route: "bad")
            #expect(r.status == 502 && r.errorType == "upstream_invalid_response")
        }
        #expect(good.connectionsAccepted <= 2, "ProxyFixture's data plane has two event loops")
        #expect(bad.connectionsAccepted == rounds, "\(bad.connectionsAccepted) connections for \(rounds) requests")
        // And the gateway closed each of them (none is left waiting in a pool).
        let waiting = Date()
        while bad.connectionsClosed < rounds && Date().timeIntervalSince(waiting) < 3 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(bad.connectionsClosed == rounds)
        #expect(try await p.logs().filter { $0.error == "upstream_invalid_response" }.count == rounds)
    }

    private func through(_ p: ProxyFixture, _ upstream: ScriptedUpstream, timeout: Int = 30) async throws
        -> RawHTTP.Response
    {
        let name = "U\(upstream.port)"
        _ = try await p.engine.createRoute(
            json(#"{"name":"\#(name)","target_base_url":"\#(upstream.url)","upstream_timeout_sec":\#(timeout)}"#),
            console)
        return try await p.call(route: name.lowercased())
    }

    @Test func anUpstreamThatNeverAnswersIs504() async throws {
        let p = try await ProxyFixture()
        let silent = try ScriptedUpstream(answer: "")
        defer { silent.stop() }
        let r = try await through(p, silent, timeout: 1)
        #expect(r.status == 504 && r.errorType == "upstream_timeout")
        #expect(try await p.logs().last?.error == "upstream_timeout")
    }

    @Test func aHugeHeadIsMalformed() async throws {
        let p = try await ProxyFixture()
        let huge = try ScriptedUpstream(
            answer: "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "h", count: 70_000) + "\r\n\r\n")
        defer { huge.stop() }
        let r = try await through(p, huge)
        #expect(r.status == 502 && r.errorType == "upstream_invalid_response")
    }

    /// Closed mid-body, or fewer bytes than its Content-Length before the close: the caller's connection ends (an
    /// answer cannot be taken back once its head is out), the row says so, and the next request is served.
    @Test func anAnswerCutShortEndsTheCallersConnection() async throws {
        let p = try await ProxyFixture()
        let cut = try ScriptedUpstream(
            answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", thenClose: true)
        defer { cut.stop() }
        _ = try await p.engine.createRoute(json(#"{"name":"Cut","target_base_url":"\#(cut.url)"}"#), console)
        let port = p.port
        let key = p.key
        let received = try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            client.send("GET / HTTP/1.1\r\nHost: x\r\nx-knoxcall-key: \(key)\r\nx-knoxcall-route: cut\r\n\r\n")
            return (try? client.readResponse()) == nil && client.closedAfterDraining(within: 3)
        }
        #expect(received)
        #expect(try await p.logs().last?.error == "upstream_unreachable")
        try await p.route("Fine")
        #expect(try await p.call(route: "fine").status == 200)
    }

    /// More bytes than the Content-Length: the caller gets exactly the declared body, and the connection that sent
    /// the extra is never used again.
    @Test func extraBytesAfterTheBodyAreNotPassedOn() async throws {
        let p = try await ProxyFixture()
        let chatty = try ScriptedUpstream(
            answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforge")
        defer { chatty.stop() }
        let first = try await through(p, chatty)
        #expect(first.status == 200 && first.text == "ok")
        let second = try await p.call(route: "u\(chatty.port)")
        #expect(second.status == 200 && second.text == "ok")  // a fresh connection, not the forged answer
    }

    /// Interim answers (100 Continue, 103 Early Hints) before the final one are dropped; the final one is passed on.
    @Test func interimAnswersAreDropped() async throws {
        let p = try await ProxyFixture()
        let interim = try ScriptedUpstream(
            answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                + "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone")
        defer { interim.stop() }
        let r = try await through(p, interim)
        #expect(r.status == 201 && r.text == "done")
        #expect(try await p.logs().last?.upstreamStatus == 201)
    }
}
