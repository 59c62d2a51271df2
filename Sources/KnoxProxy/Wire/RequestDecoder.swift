import KnoxCore
import NIOCore
import NIOHTTP1

/// Requests from the bytes a downstream connection delivers: each request's head, its body as it arrives, and its
/// end, one after another (pipelined requests wait in the buffer until asked for). A value-type state machine: the
/// handler feeds it reads and pulls events; it never touches a channel.
struct RequestDecoder {
    enum Event {
        case head(RequestHead, KnownHeaders)
        case body(ByteBuffer)
        case end
    }

    /// Bytes that are not an acceptable request. `head` is set when the head itself was fine but its framing is not
    /// (the request can still be logged with its method and path).
    struct Failure: Error {
        let error: WireError
        let head: RequestHead?
    }

    private enum State {
        case head
        case body(BodyFramer)
        /// A request without a body: its end comes next.
        case endPending
        /// Nothing more is read after malformed bytes (the connection closes).
        case failed
    }

    private var state = State.head
    private var received = ReceivedBytes()
    private var parser = HeadParser()

    init() {}

    /// Takes back a decoded head's field list for the next head (`HeadParser.recycle`).
    mutating func recycle(_ spans: [FieldSpan]) { parser.recycle(spans) }

    /// Bytes received and not yet decoded (a partial head or body, or whole pipelined requests).
    var bufferedBytes: Int { received.count }

    /// The next event would be the head of a new request.
    var betweenRequests: Bool { if case .head = state { true } else { false } }

    mutating func feed(_ bytes: ByteBuffer) { received.append(bytes) }

    /// The next event, or nil when more bytes are needed.
    mutating func next() throws(Failure) -> Event? {
        switch state {
        case .failed:
            return nil
        case .endPending:
            state = .head
            return .end
        case .body(var framer):
            do {
                switch try received.frame(&framer) {
                case .data(let slice):
                    state = .body(framer)
                    return .body(slice)
                case .end:
                    state = .head
                    return .end
                case .needMore:
                    state = .body(framer)
                    return nil
                }
            } catch {
                state = .failed
                throw Failure(error: error, head: nil)
            }
        case .head:
            guard let buffer = received.buffer else { return nil }
            let parsed: HeadParse<RequestHead>
            do {
                parsed = try parser.request(buffer)
            } catch {
                state = .failed
                received.clear()
                throw Failure(error: error, head: nil)
            }
            guard case .complete(let head, let consumed) = parsed else { return nil }
            received.consume(consumed)
            let known = KnownHeaders(head.fields)
            do {
                try Self.checkHost(known, version: head.version)
                if let framer = try Self.framing(known, version: head.version) {
                    state = .body(framer)
                } else {
                    state = .endPending
                }
            } catch {
                state = .failed
                received.clear()
                throw Failure(error: error, head: head)
            }
            return .head(head, known)
        }
    }

    /// How a request's body is delimited (RFC 9112 §6.3), or nil when it has none. Conflicting or malformed framing
    /// headers are refused: such a request never reaches an upstream (request smuggling).
    static func framing(_ known: KnownHeaders, version: HTTPVersion) throws(WireError) -> BodyFramer? {
        let lengths = known.contentLengths
        let encodings = known.transferEncodings
        if !lengths.isEmpty && !encodings.isEmpty {
            throw WireError("Content-Length and Transfer-Encoding together are not allowed")
        }
        if !encodings.isEmpty {
            guard encodings.count == 1, HeaderRules.same(encodings[0], "chunked") else {
                throw WireError("Only Transfer-Encoding: chunked is supported")
            }
            guard version.minor >= 1 else { throw WireError("Transfer-Encoding is not allowed in an HTTP/1.0 request") }
            return .chunked
        }
        guard let first = lengths.first else { return nil }
        guard lengths.allSatisfy({ $0 == first }) else { throw WireError("Conflicting Content-Length headers") }
        guard let length = contentLength(first) else { throw WireError("Invalid Content-Length") }
        return length == 0 ? nil : .length(length)
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request has exactly one `Host`, any request at most one, and its value is a host
    /// (a name, an address or a bracketed IPv6 literal) with an optional port, or empty.
    static func checkHost(_ known: KnownHeaders, version: HTTPVersion) throws(WireError) {
        if known.hostCount > 1 { throw WireError("More than one Host header") }
        guard let host = known.host else {
            if version.major == 1 && version.minor >= 1 { throw WireError("An HTTP/1.1 request needs a Host header") }
            return
        }
        guard HostField.isValid(host.utf8) else { throw WireError("The Host header is not a host[:port]") }
    }

    /// A `Content-Length` value: 1 to 18 decimal digits, nothing else (no sign, no list).
    static func contentLength(_ text: String) -> Int? {
        let utf8 = text.utf8
        guard (1...18).contains(utf8.count), utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)
    }
}
