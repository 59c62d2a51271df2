import NIOCore
import NIOHTTP1
import Testing

@testable import KnoxProxy

/// Heads parsed from text, for tests of the rules that work on received bytes.
enum WireFixtures {
    static func request(_ text: String) throws -> RequestHead? {
        var parser = HeadParser()
        guard case .complete(let head, _) = try parser.request(ByteBuffer(string: text)) else { return nil }
        return head
    }

    static func response(_ text: String) throws -> ResponseHead? {
        var parser = HeadParser()
        guard case .complete(let head, _) = try parser.response(ByteBuffer(string: text)) else { return nil }
        return head
    }

    /// Every event the request decoder yields for `text` delivered in pieces of `step` bytes, as text.
    static func requestEvents(_ text: String, step: Int) throws(RequestDecoder.Failure) -> [String] {
        var decoder = RequestDecoder()
        var events: [String] = []
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            decoder.feed(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            while let event = try decoder.next() {
                switch event {
                case .head(let head, _): events.append("head \(head.method.rawValue) \(head.target)")
                case .body(let buffer): events.append("body " + String(buffer: buffer))
                case .end: events.append("end")
                }
            }
        }
        // Adjacent body pieces are one body, however the bytes were split.
        var merged: [String] = []
        for event in events {
            if event.hasPrefix("body "), let last = merged.last, last.hasPrefix("body ") {
                merged[merged.count - 1] = last + event.dropFirst(5)
            } else {
                merged.append(event)
            }
        }
        return merged
    }

    /// The response decoder's events for `text`, after a request (HEAD when `toHEAD`).
    static func responseEvents(_ text: String, toHEAD: Bool = false, close: Bool = false) throws(WireError) -> [String]
    {
        var decoder = ResponseDecoder()
        decoder.expect(toHEAD: toHEAD)
        decoder.feed(ByteBuffer(string: text))
        var events: [String] = []
        func describe(_ event: ResponseDecoder.Event) {
            switch event {
            case .head(let head): events.append("head \(head.status)")
            case .body(let buffer): events.append("body " + String(buffer: buffer))
            case .end(let reusable): events.append(reusable ? "end reusable" : "end")
            }
        }
        while let event = try decoder.next() {
            describe(event)
            if case .end = event { break }
        }
        if close, let event = decoder.closed() { describe(event) }
        return events
    }
}

@Suite struct HeadParserTests {
    @Test func requestHeadsAreReadInPlace() throws {
        let head = try #require(
            try WireFixtures.request(
                "POST /a/b?x=1&y=%20 HTTP/1.1\r\nHost: api.example\r\nX-Spaced: \t padded value \t\r\nEmpty:\r\n\r\n"))
        #expect(head.method == .POST)
        #expect(head.target == "/a/b?x=1&y=%20")
        #expect(head.version == .http1_1)
        #expect(head.keepAlive)
        #expect(
            head.fields.pairs.map { "\($0.name)=\($0.value)" } == [
                "Host=api.example", "X-Spaced=padded value", "Empty=",
            ])
        #expect(head.fields.first("x-spaced") == "padded value")
        #expect(head.fields.first("missing") == nil)
    }

    @Test func keepAliveFollowsVersionAndConnection() throws {
        func keep(_ version: String, _ connection: String?) throws -> Bool {
            let line = connection.map { "Connection: \($0)\r\n" } ?? ""
            return try #require(try WireFixtures.request("GET / \(version)\r\n\(line)\r\n")).keepAlive
        }
        #expect(try keep("HTTP/1.1", nil))
        #expect(try !keep("HTTP/1.1", "close"))
        #expect(try !keep("HTTP/1.1", "keep-alive, Close"))
        #expect(try !keep("HTTP/1.0", nil))
        #expect(try keep("HTTP/1.0", "Keep-Alive"))
        #expect(try keep("HTTP/1.1", "upgrade, x-custom"))
    }

    @Test func methodsAreCaseSensitiveTokens() throws {
        #expect(try WireFixtures.request("GET / HTTP/1.1\r\n\r\n")?.method == .GET)
        #expect(try WireFixtures.request("OPTIONS * HTTP/1.1\r\n\r\n")?.method == .OPTIONS)
        #expect(try WireFixtures.request("get / HTTP/1.1\r\n\r\n")?.method == .RAW(value: "get"))
        #expect(try WireFixtures.request("PROPFIND / HTTP/1.1\r\n\r\n")?.method == .RAW(value: "PROPFIND"))
    }

    /// A recycled field list serves the next head: while the earlier head is still held it keeps its own fields
    /// (the next head gets a list of its own), and once it is gone the list is refilled in place, shorter or longer
    /// than before, with nothing of the earlier head left in it.
    @Test func recycledFieldListsServeTheNextHead() throws {
        var parser = HeadParser()
        func parse(_ text: String) throws -> RequestHead {
            guard case .complete(let head, _) = try parser.request(ByteBuffer(string: text)) else {
                throw WireError("incomplete")
            }
            return head
        }
        func fields(_ head: RequestHead) -> [String] {
            (0..<head.fields.count).map { "\(head.fields.name($0))=\(head.fields.value($0))" }
        }
        let first = try parse("GET /1 HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
        parser.recycle(first.fields.spans)
        let second = try parse("GET /2 HTTP/1.1\r\nX-Long-Name: value two\r\n\r\n")
        #expect(fields(first) == ["A=1", "B=2", "C=3"])
        #expect(fields(second) == ["X-Long-Name=value two"])
        parser.recycle(second.fields.spans)
        var third: RequestHead? = try parse(
            "GET /3 HTTP/1.1\r\n" + (1...20).map { "H\($0): v\($0)\r\n" }.joined() + "\r\n")
        #expect(fields(second) == ["X-Long-Name=value two"])
        #expect(third.map(fields)?.count == 20)
        if let done = third { parser.recycle(done.fields.spans) }
        third = nil
        let fourth = try parse("GET /4 HTTP/1.1\r\nOnly: one\r\n\r\n")
        #expect(fields(fourth) == ["Only=one"])
        #expect(fourth.target == "/4")
    }

    @Test func blankLinesBeforeARequestAreSkipped() throws {
        var parser = HeadParser()
        let parsed = try parser.request(ByteBuffer(string: "\r\n\r\nGET /x HTTP/1.1\r\n\r\nrest"))
        guard case .complete(let head, let consumed) = parsed else {
            Issue.record("incomplete")
            return
        }
        #expect(head.target == "/x")
        #expect(consumed == 4 + 19)
    }

    @Test func aHeadThatTricklesInIsFoundOnce() throws {
        let text = Array("GET /slow HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n".utf8)
        var parser = HeadParser()
        var buffer = ByteBuffer()
        for (i, byte) in text.enumerated() {
            buffer.writeInteger(byte)
            let parsed = try parser.request(buffer)
            if i < text.count - 1 {
                guard case .incomplete = parsed else {
                    Issue.record("complete after \(i + 1) bytes")
                    return
                }
            } else {
                guard case .complete(let head, let consumed) = parsed else {
                    Issue.record("incomplete at the end")
                    return
                }
                #expect(head.fields.pairs.count == 2)
                #expect(consumed == text.count)
            }
        }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\nHost: x\r\n\r\n", "bare LF"),
        ("GET / HTTP/1.1\r\nHost: x\n\r\n", "bare LF"),
        ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "bare CR"),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "colon"),
        ("GET / HTTP/1.1\r\n: x\r\n\r\n", "colon"),
        ("GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n", "folding"),
        ("GET / HTTP/1.1\r\nX-A: a\u{0}b\r\n\r\n", "control"),
        ("GET / HTTP/1.1\r\nX-A: a\u{7F}b\r\n\r\n", "control"),
        ("GET / HTTP/1.1\r\nX-A: a\u{1}b\r\n\r\n", "control"),
        ("GET /a\u{1}b HTTP/1.1\r\n\r\n", "target"),
        ("GET  / HTTP/1.1\r\n\r\n", "target"),
        ("GET / HTTP/1.1 \r\n\r\n", "end after the version"),
        ("GET /\r\n\r\n", "target"),
        ("GET / HTTP/2.0\r\n\r\n", "Only HTTP/1.1"),
        ("GET / HTTP/1.2\r\n\r\n", "Only HTTP/1.1"),
        ("GET / http/1.1\r\n\r\n", "HTTP version"),
        (" GET / HTTP/1.1\r\n\r\n", "method"),
        ("G(T / HTTP/1.1\r\n\r\n", "method"),
        ("GET / HTTP/1.1\r\nX(A): 1\r\n\r\n", "colon"),
    ])
    func malformedRequestHeadsAreRefused(_ text: String, _ says: String) {
        var parser = HeadParser()
        #expect {
            _ = try parser.request(ByteBuffer(string: text))
        } throws: { error in
            (error as? WireError)?.message.contains(says) == true
        }
    }

    @Test func headsAreBounded() throws {
        var parser = HeadParser()
        let huge = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: HeadParser.maxHeadBytes) + "\r\n\r\n"
        #expect(throws: WireError("The head is larger than 64 KiB", .headTooLarge)) {
            _ = try parser.request(ByteBuffer(string: huge))
        }
        // Without its end in sight the head is refused as soon as it passes the bound, not when it ends.
        var open = HeadParser()
        let endless = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: HeadParser.maxHeadBytes)
        #expect(throws: WireError("The head is larger than 64 KiB", .headTooLarge)) {
            _ = try open.request(ByteBuffer(string: endless))
        }
        var many = HeadParser()
        let fields = (0...HeadParser.maxFields).map { "X-\($0): v\r\n" }.joined()
        #expect(throws: WireError("The head has more than \(HeadParser.maxFields) header fields", .headTooLarge)) {
            _ = try many.request(ByteBuffer(string: "GET / HTTP/1.1\r\n" + fields + "\r\n"))
        }
        // A request line that does not end within the bound is an over-long target; one that ends but is too long too.
        var line = HeadParser()
        #expect(throws: WireError("The request target is longer than 8 KiB", .targetTooLong)) {
            _ = try line.request(ByteBuffer(string: "GET /" + String(repeating: "t", count: HeadParser.maxHeadBytes)))
        }
        var target = HeadParser()
        #expect(throws: WireError("The request target is longer than 8 KiB", .targetTooLong)) {
            _ = try target.request(
                ByteBuffer(string: "GET /" + String(repeating: "t", count: 9000) + " HTTP/1.1\r\n\r\n"))
        }
    }

    @Test func responseHeads() throws {
        let head = try #require(try WireFixtures.response("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        #expect(head.status == 404)
        #expect(head.keepAlive)
        #expect(head.fields.withBytes { Wire.text($0, head.reasonStart, head.reasonEnd) } == "Not Found")
        let bare = try #require(try WireFixtures.response("HTTP/1.0 200\r\n\r\n"))
        #expect(bare.status == 200)
        #expect(!bare.keepAlive)
        #expect(bare.reasonStart == bare.reasonEnd)
        var parser = HeadParser()
        #expect(throws: WireError.self) { _ = try parser.response(ByteBuffer(string: "HTTP/1.1 2000 OK\r\n\r\n")) }
        #expect(throws: WireError.self) { _ = try parser.response(ByteBuffer(string: "HTTP/1.1 OK\r\n\r\n")) }
    }
}

@Suite struct BodyFramingTests {
    static let chunked =
        "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;name=value\r\npedia\r\n"
        + "E \t;x\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer-Field: dropped\r\n\r\n"

    @Test(arguments: [1, 2, 3, 7, 1000])
    func chunkedBodiesDecodeHoweverTheBytesAreSplit(_ step: Int) throws {
        let events = try WireFixtures.requestEvents(Self.chunked + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n", step: step)
        #expect(events == ["head POST /up", "body Wikipedia in\r\n\r\nchunks.", "end", "head GET /next", "end"])
    }

    @Test(arguments: [1, 5, 1000])
    func lengthBodiesAndPipelinedRequests(_ step: Int) throws {
        let text =
            "PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n\r\nDELETE /c HTTP/1.1\r\nHost: x\r\n\r\n"
        let events = try WireFixtures.requestEvents(text, step: step)
        #expect(events == ["head PUT /a", "body hello", "end", "head GET /b", "end", "head DELETE /c", "end"])
    }

    @Test(arguments: [
        "zz\r\nabc\r\n0\r\n\r\n",  // not hex
        "3\r\nabcX\r\n0\r\n\r\n",  // data not followed by CRLF
        "3\nabc\r\n0\r\n\r\n",  // bare LF after the size
        "3\r\nabc\n0\r\n\r\n",  // bare LF after the data
        "1000000000000000\r\n",  // 16 hex digits
        "3;a\u{1}b\r\nabc\r\n0\r\n\r\n",  // control character in an extension
        "\r\n",  // no size
        "0\r\nTrailer: a\u{0}\r\n\r\n",  // control character in a trailer
        "0\r\n\n",  // bare LF ending the trailers
    ])
    func malformedChunkingIsRefused(_ body: String) {
        #expect(throws: RequestDecoder.Failure.self) {
            _ = try WireFixtures.requestEvents(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body, step: 1000)
        }
    }

    @Test(arguments: [
        ("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", "together"),
        ("Content-Length: 4\r\nContent-Length: 5\r\n", "Conflicting"),
        ("Content-Length: +5\r\n", "Invalid"),
        ("Content-Length: 5, 5\r\n", "Invalid"),
        ("Content-Length: -1\r\n", "Invalid"),
        ("Content-Length: 1234567890123456789\r\n", "Invalid"),
        ("Transfer-Encoding: gzip, chunked\r\n", "Only Transfer-Encoding: chunked"),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "Only Transfer-Encoding: chunked"),
        ("Transfer-Encoding: identity\r\n", "Only Transfer-Encoding: chunked"),
    ])
    func conflictingOrMalformedFramingIsRefusedWithTheHead(_ fields: String, _ says: String) {
        var decoder = RequestDecoder()
        decoder.feed(ByteBuffer(string: "POST /f HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n"))
        #expect {
            _ = try decoder.next()
        } throws: { error in
            guard let failure = error as? RequestDecoder.Failure else { return false }
            return failure.error.message.contains(says) && failure.head?.target == "/f"
        }
        // Nothing after malformed framing is read: where the next request would start is unknown.
        #expect((try? decoder.next()) == nil)
    }

    @Test func sameLengthTwiceIsOneLength() throws {
        let events = try WireFixtures.requestEvents(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc", step: 1000)
        #expect(events == ["head POST /", "body abc", "end"])
    }

    @Test func chunkedRequestsNeedHTTP11() {
        var decoder = RequestDecoder()
        decoder.feed(ByteBuffer(string: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
        #expect(throws: RequestDecoder.Failure.self) { _ = try decoder.next() }
    }
}

@Suite struct ResponseDecoderTests {
    @Test func lengthChunkedAndCloseDelimitedAnswers() throws {
        #expect(
            try WireFixtures.responseEvents("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") == [
                "head 200", "body ok", "end reusable",
            ])
        #expect(
            try WireFixtures.responseEvents("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
                == ["head 200", "body ok", "end reusable"])
        #expect(
            try WireFixtures.responseEvents("HTTP/1.1 200 OK\r\n\r\nuntil the end", close: true)
                == ["head 200", "body until the end", "end"])
        // A coding other than chunked last: the body runs to the connection's end.
        #expect(
            try WireFixtures.responseEvents(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzz", close: true)
                == ["head 200", "body zz", "end"])
    }

    @Test func bodilessAnswers() throws {
        #expect(
            try WireFixtures.responseEvents("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", toHEAD: true) == [
                "head 200", "end reusable",
            ])
        #expect(try WireFixtures.responseEvents("HTTP/1.1 204 No Content\r\n\r\n") == ["head 204", "end reusable"])
        #expect(
            try WireFixtures.responseEvents("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n") == [
                "head 304", "end reusable",
            ])
    }

    @Test func interimAnswersAreDropped() throws {
        #expect(
            try WireFixtures.responseEvents(
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
            )
                == ["head 201", "end reusable"])
        #expect(throws: WireError("The upstream switched protocols")) {
            _ = try WireFixtures.responseEvents("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n")
        }
    }

    @Test func connectionsThatCannotCarryAnotherRequest() throws {
        #expect(
            try WireFixtures.responseEvents("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == [
                "head 200", "end",
            ])
        #expect(try WireFixtures.responseEvents("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == ["head 200", "end"])
        #expect(
            try WireFixtures.responseEvents("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
                == ["head 200", "end reusable"])
        // Bytes beyond the answer: the upstream is out of step.
        #expect(
            try WireFixtures.responseEvents("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA") == [
                "head 200", "body ok", "end",
            ])
    }

    @Test func malformedAnswersAndUnaskedBytes() {
        #expect(throws: WireError.self) {
            _ = try WireFixtures.responseEvents(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n")
        }
        #expect(throws: WireError.self) {
            _ = try WireFixtures.responseEvents("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
        }
        var idle = ResponseDecoder()
        idle.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"))
        #expect(throws: WireError("The upstream sent bytes without being asked")) { _ = try idle.next() }
        // Cut short: the connection's end in the middle of a length-delimited body is no end.
        var cut = ResponseDecoder()
        cut.expect(toHEAD: false)
        cut.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
        _ = try? cut.next()
        _ = try? cut.next()
        #expect(cut.closed() == nil)
    }
}

@Suite struct UpstreamHeadTests {
    func upstream(_ caller: String, trusted: Bool = false, injected: [(String, String)] = [], signature: Bool = false)
        throws -> String
    {
        let head = try #require(try WireFixtures.request(caller))
        let known = KnownHeaders(head.fields)
        var out = ByteBuffer()
        try HeaderRules.writeUpstreamHead(
            method: head.method.rawValue, target: "/base" + head.target, caller: head.fields,
            HeaderRules.UpstreamAdditions(
                hostHeader: "up.example:8443", clientText: "10.1.2.3", peerIsTrustedProxy: trusted, requestId: "req_1",
                injected: injected.map { ($0.0, $0.0.lowercased(), $0.1) }, consumedSignature: signature, bodyLength: 3,
                chunked: false, hasConnectionTokens: known.hasConnectionTokens),
            into: &out)
        return String(buffer: out)
    }

    @Test func callerFieldsAreFilteredAndKnoxCallsAreAdded() throws {
        let text = try upstream(
            "POST /p?q=1 HTTP/1.1\r\nHost: proxy\r\nConnection: keep-alive, X-Hop\r\nX-Hop: gone\r\nKeep-Alive: 5\r\n"
                + "x-knoxcall-key: tk_live_abc_def\r\nX-KnoxCall-Route: r\r\nAccept: */*\r\nX-Forwarded-For: 6.6.6.6\r\n"
                + "X-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\nX-Request-Id: forged\r\nDPoP: proof\r\n"
                + "Authorization: Bearer kc_live_token\r\nContent-Length: 3\r\nTE: trailers\r\nX-Api: Bearer\r\n\r\n")
        #expect(
            text
                == "POST /base/p?q=1 HTTP/1.1\r\nHost: up.example:8443\r\nAccept: */*\r\nX-Api: Bearer\r\n"
                + "X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\nX-Request-Id: req_1\r\nVia: 1.1 knoxcall\r\n"
                + "Content-Length: 3\r\n\r\n")
    }

    @Test func trustedProxiesForwardingAndInjectedHeadersWin() throws {
        let text = try upstream(
            "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\nX-Forwarded-Proto: https\r\n"
                + "authorization: Bearer caller-own-upstream-token\r\nX-Timestamp: 1\r\nX-Signature: ab\r\n\r\n",
            trusted: true, injected: [("Authorization", "Bearer injected")], signature: true)
        #expect(
            text
                == "GET /base/ HTTP/1.1\r\nHost: up.example:8443\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.1.2.3\r\n"
                + "X-Forwarded-Proto: https\r\nX-Request-Id: req_1\r\nVia: 1.1 knoxcall\r\nAuthorization: Bearer injected\r\n"
                + "Content-Length: 3\r\n\r\n")
        let own = try upstream(
            "GET / HTTP/1.1\r\nAuthorization: Bearer caller-own-upstream-token\r\nX-Timestamp: 1\r\n\r\n")
        #expect(own.contains("Authorization: Bearer caller-own-upstream-token\r\n"))
        #expect(own.contains("X-Timestamp: 1\r\n"))
    }

    @Test func decimalsAreWrittenWithoutStrings() {
        for value in [0, 7, 10, 99, 100, 12345, 1 << 40, Int.max, -42] {
            var out = ByteBuffer()
            Wire.writeDecimal(value, into: &out)
            #expect(String(buffer: out) == String(value))
        }
    }
}

@Suite struct TokenBytesTests {
    /// The masks behind `isTokenByte` hold exactly RFC 9110's tchar.
    @Test func tokenBytesAreExactlyTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for b in 0...255 {
            #expect(HeadParser.isTokenByte(UInt8(b)) == tchar.contains(UInt8(b)), "byte \(b)")
        }
    }
}

@Suite struct RawWriterTests {
    /// A head larger than the room first reserved is written whole, once: the writer never writes past its region,
    /// and the buffer gets the bytes of the attempt that fitted only.
    @Test func headsLargerThanTheirRoomAreWrittenOnce() {
        var out = ByteBuffer(string: "before|")
        let long = String(repeating: "v", count: 1000)
        out.writeRaw(capacity: 1) { w in
            w.put("X-Long: ")
            w.put(long)
            w.byte(UInt8(ascii: "|"))
            w.decimal(-1234)
            w.put(" ")
        }
        #expect(String(buffer: out) == "before|X-Long: " + long + "|-1234 ")
    }
}
