import Foundation
import KnoxCore
import KnoxTestSupport
import Testing

@testable import KnoxProxy

/// The data plane writes its answers as bytes itself (ResponseWriter): each framing case on the wire, and the
/// connection still usable after it.
@Suite struct ResponseFramingTests {
    private func onOneConnection(_ p: ProxyFixture, _ work: @escaping @Sendable (RawHTTP, String) throws -> Void)
        async throws
    {
        let port = p.port
        let key = p.key
        try await blocking {
            let client = try RawHTTP(port: port)
            defer { client.close() }
            try work(client, "x-knoxcall-key: \(key)\r\nx-knoxcall-route: r\r\n")
        }
    }

    @Test func upstreamAnswerWithoutLengthReachesAnHTTP11CallerChunked() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        try await onOneConnection(p) { client, auth in
            for round in 0..<2 {
                client.send("GET /chunked?parts=\(5 + round) HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
                let r = try client.readResponse()
                #expect(r.status == 200)
                #expect(r.header("Transfer-Encoding") == "chunked")
                #expect(r.header("Content-Length") == nil)
                #expect(r.text == (0..<(5 + round)).map { "part-\($0);" }.joined())
                #expect(r.header("X-Knox-Upstream-Status") == "200")
            }
            // Still in step: an ordinary answer follows on the same connection.
            client.send("GET /after HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
            #expect(try client.readResponse().status == 200)
        }
    }

    @Test func headAnswersCarryNoBodyAndKeepTheConnectionInStep() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        try await onOneConnection(p) { client, auth in
            client.send("HEAD /thing HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
            let head = try client.readResponse(bodiless: true)
            #expect(head.status == 200)
            // The length a GET would have, advertised but not sent.
            #expect(Int(head.header("Content-Length") ?? "") ?? 0 > 0)
            client.send("HEAD /chunked HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
            #expect(try client.readResponse(bodiless: true).status == 200)
            client.send("GET /after HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
            let next = try client.readResponse()
            #expect(next.status == 200)
            #expect(next.text.contains("/after"))
        }
        #expect(p.upstream.requests.map(\.method) == ["HEAD", "HEAD", "GET"])
    }

    @Test(arguments: [204, 304])
    func answersThatCannotHaveABodyHaveNone(status: Int) async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        try await onOneConnection(p) { client, auth in
            client.send("GET /status/\(status) HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
            let r = try client.readResponse(bodiless: true)
            #expect(r.status == status)
            #expect(r.header("Content-Length") == nil)
            #expect(r.header("Transfer-Encoding") == nil)
            client.send("GET /after HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
            let next = try client.readResponse()
            #expect(next.status == 200)
            #expect(next.text.contains("/after"))
        }
    }

    @Test func anHTTP10CallerGetsAClosedConnectionWhenThereIsNoLength() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        try await onOneConnection(p) { client, auth in
            client.send("GET /chunked?parts=4 HTTP/1.0\r\nConnection: keep-alive\r\n\(auth)\r\n")
            let r = try client.readResponse()
            #expect(r.status == 200)
            #expect(r.header("Transfer-Encoding") == nil)
            #expect(r.header("Connection") == "close")
            #expect(r.text == "part-0;part-1;part-2;part-3;")
        }
    }

    @Test func anHTTP10CallerThatAsksForKeepAliveKeepsIt() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        try await onOneConnection(p) { client, auth in
            client.send("GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\(auth)\r\n")
            let first = try client.readResponse()
            #expect(first.status == 200)
            #expect(first.header("Connection") == "keep-alive")
            client.send("GET /two HTTP/1.0\r\n\(auth)\r\n")
            let second = try client.readResponse()
            #expect(second.text.contains("/two"))
            #expect(second.header("Connection") == "close")
            #expect(client.peerClosed())
        }
    }

    @Test func theUpstreamsHopByHopHeadersStayOnItsHop() async throws {
        let p = try await ProxyFixture()
        try await p.route("R")
        let r = try await p.call("GET", "/hop", route: "r")
        #expect(r.status == 200)
        #expect(r.text == "ok")
        #expect(r.header("X-Stays") == "yes")
        #expect(r.header("X-Up-Hop") == nil)
        #expect(r.header("Keep-Alive") == nil)
        #expect(r.header("Connection") == "close")  // the caller asked to close (RawHTTP.request does)
    }

    @Test func connectionValuesThatNameHeadersAreTold() {
        for value in [
            "keep-alive", "close", "Keep-Alive", " close ", "keep-alive, close", "", " , ", "CLOSE,\tkeep-alive",
        ] {
            #expect(!HeaderRules.connectionNamesHeaders(value), "\(value)")
        }
        for value in ["X-Hop", "keep-alive, X-Hop", "close,x", "keep-alives", "upgrade", " ,te"] {
            #expect(HeaderRules.connectionNamesHeaders(value), "\(value)")
        }
    }

    @Test func headerNamesCompareWithoutCase() {
        #expect(HeaderRules.same("Content-Length", "content-length"))
        #expect(HeaderRules.same("CONTENT-LENGTH", "content-length"))
        #expect(HeaderRules.same("", ""))
        #expect(!HeaderRules.same("Content-Lengtx", "content-length"))
        #expect(!HeaderRules.same("Content-Length ", "content-length"))
        #expect(!HeaderRules.same("", "te"))
        #expect(!HeaderRules.same("[", "{"))  // only A-Z fold
        #expect(!HeaderRules.same("é", "e"))
        #expect(HeaderRules.isKnoxcallHeader("X-KnoxCall-Route"))
        #expect(HeaderRules.isKnoxcallHeader("x-knoxcall-anything-at-all-and-quite-long"))
        #expect(!HeaderRules.isKnoxcallHeader("x-knoxcall-"))
        #expect(!HeaderRules.isKnoxcallHeader("x-knoxcal-route"))
        #expect(!HeaderRules.isKnoxcallHeader("route"))
    }

    @Test func hopByHopHeadersAreRecognisedByNameInAnyCase() {
        for name in HeaderRules.hopByHop {
            #expect(HeaderRules.isHopByHop(name))
            #expect(HeaderRules.isHopByHop(name.uppercased()))
            #expect(!HeaderRules.isHopByHop(name + "x"))
            #expect(!HeaderRules.isHopByHop(String(name.dropLast()) + "_"))
        }
        for name in ["Content-Type", "X-Te", "Hosts", "Authorization", "Date", "Cookie", ""] {
            #expect(!HeaderRules.isHopByHop(name))
        }
    }
}
