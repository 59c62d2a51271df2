import NIOCore
import NIOHTTP1

/// An upstream's answers from the bytes its connection delivers. The exchange says what it asked (a HEAD request
/// gets a bodiless answer) before each request; the decoder then yields the final head (interim 1xx answers are
/// dropped), the body as it arrives, and the end, with whether the connection can carry another request.
struct ResponseDecoder {
    enum Event {
        case head(ResponseHead)
        case body(ByteBuffer)
        /// The answer is complete. `reusable`: the upstream keeps the connection and sent nothing beyond the answer.
        case end(reusable: Bool)
    }

    private enum State {
        /// No request outstanding: any byte is a protocol error.
        case idle
        case head(toHEAD: Bool)
        case body(BodyFramer, reusable: Bool)
        case endPending(reusable: Bool)
    }

    private var state = State.idle
    private var received = ReceivedBytes()
    private var parser = HeadParser()

    init() {}

    /// Takes back a decoded head's field list for the next head (`HeadParser.recycle`).
    mutating func recycle(_ spans: [FieldSpan]) { parser.recycle(spans) }

    /// A request went out: its answer is expected next.
    mutating func expect(toHEAD: Bool) {
        state = .head(toHEAD: toHEAD)
        parser.reset()
    }

    mutating func feed(_ bytes: ByteBuffer) { received.append(bytes) }

    /// The next event, or nil when more bytes are needed.
    mutating func next() throws(WireError) -> Event? {
        while true {
            switch state {
            case .idle:
                if received.count > 0 { throw WireError("The upstream sent bytes without being asked") }
                return nil
            case .endPending(let reusable):
                state = .idle
                return .end(reusable: reusable && received.count == 0)
            case .body(var framer, let reusable):
                switch try received.frame(&framer) {
                case .data(let slice):
                    state = .body(framer, reusable: reusable)
                    return .body(slice)
                case .end:
                    state = .idle
                    return .end(reusable: reusable && received.count == 0)
                case .needMore:
                    state = .body(framer, reusable: reusable)
                    return nil
                }
            case .head(let toHEAD):
                guard let buffer = received.buffer else { return nil }
                guard case .complete(let head, let consumed) = try parser.response(buffer) else { return nil }
                received.consume(consumed)
                if head.status < 200 {
                    // 100 Continue, 103 Early Hints: the final answer follows. 101 would leave HTTP: never asked for.
                    guard head.status != 101 else { throw WireError("The upstream switched protocols") }
                    continue
                }
                let framer = try Self.framing(head, toHEAD: toHEAD)
                let reusable = head.keepAlive && !(framer?.endsAtClose ?? false)
                state = framer.map { .body($0, reusable: reusable) } ?? .endPending(reusable: reusable)
                return .head(head)
            }
        }
    }

    /// The connection ended. For a body delimited by the close this is its end; anywhere else in an answer it is a
    /// failure (nil).
    mutating func closed() -> Event? {
        guard case .body(let framer, _) = state, framer.endsAtClose else { return nil }
        state = .idle
        return .end(reusable: false)
    }

    /// How an answer's body is delimited (RFC 9112 §6.3), or nil when it has none.
    static func framing(_ head: ResponseHead, toHEAD: Bool) throws(WireError) -> BodyFramer? {
        if toHEAD || head.status == 204 || head.status == 304 { return nil }
        var length: Int?
        var chunked = false
        var encoded = false
        try head.fields.withBytes { (p: UnsafeRawBufferPointer) throws(WireError) in
            for span in head.fields.spans {
                let a = Int(span.nameStart)
                let b = Int(span.nameEnd)
                if b - a == 14 && Wire.equalsFolded(p, a, b, "content-length") {
                    let value = Wire.text(p, span.valueStart, span.valueEnd)
                    guard let n = RequestDecoder.contentLength(value), length == nil || length == n else {
                        throw WireError("The upstream sent an invalid Content-Length")
                    }
                    length = n
                } else if b - a == 17 && Wire.equalsFolded(p, a, b, "transfer-encoding") {
                    encoded = true
                    // Chunked only when it is the final coding (RFC 9112 §6.3 item 4); anything else ends at close.
                    var last: (Int, Int)?
                    Wire.forEachToken(p, Int(span.valueStart), Int(span.valueEnd)) { x, y in last = (x, y) }
                    chunked = last.map { Wire.equalsFolded(p, $0.0, $0.1, "chunked") } ?? false
                }
            }
        }
        if encoded && length != nil { throw WireError("The upstream sent both Content-Length and Transfer-Encoding") }
        if encoded { return chunked ? .chunked : .untilClose }
        if let length { return .length(length) }
        return .untilClose
    }
}
