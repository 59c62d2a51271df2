import NIOCore
import NIOHTTP1

/// A request head as it arrived: request line and header fields, the fields still in the received bytes.
struct RequestHead: Sendable {
    let method: HTTPMethod
    /// The request target exactly as sent.
    let target: String
    let version: HTTPVersion
    let fields: HeaderFields
    /// The connection persists after this exchange (RFC 9112 §9.3): 1.1 unless `Connection: close`, 1.0 only with
    /// `Connection: keep-alive`.
    let keepAlive: Bool
}

/// A response head from an upstream.
struct ResponseHead: Sendable {
    let version: HTTPVersion
    let status: Int
    /// The reason phrase's place in `fields.bytes` (may be empty).
    let reasonStart: Int32
    let reasonEnd: Int32
    let fields: HeaderFields
    /// The upstream keeps the connection open after this answer.
    let keepAlive: Bool
}

/// Why bytes from the wire are not HTTP/1.1 this proxy accepts. The message names what is wrong and never repeats
/// the bytes (they may hold credentials).
struct WireError: Error, Equatable {
    /// How the caller is answered: most refusals are 400; limits have statuses of their own.
    enum Kind: Equatable {
        case malformed
        /// The request target is longer than `HeadParser.maxTargetBytes` (414).
        case targetTooLong
        /// The head is larger than `maxHeadBytes` or has more than `maxFields` fields (431).
        case headTooLarge
    }

    let message: String
    let kind: Kind
    init(_ message: String, _ kind: Kind = .malformed) {
        self.message = message
        self.kind = kind
    }
}

/// The outcome of looking for a head in the bytes received so far.
enum HeadParse<Head> {
    /// The blank line that ends the head has not arrived yet.
    case incomplete
    case complete(Head, consumed: Int)
}

/// Strict HTTP/1.1 head parsing (RFC 9112 §2–§5), over the bytes as they arrived. Strictness is the defence against
/// request smuggling: every line ends in CRLF (a bare CR or LF is refused), names are tokens with the colon right
/// after them, values hold no control characters, obsolete line folding is refused, and the head is bounded.
struct HeadParser {
    static let maxHeadBytes = 64 * 1024
    static let maxFields = 256
    /// The longest request target accepted (nginx's default buffer for a request line is 8 KiB).
    static let maxTargetBytes = 8 * 1024
    /// How far the bytes were already searched for the blank line without finding it, so a head that trickles in
    /// is not searched again from its start each time.
    private var scanned = 0
    /// The field list of a head that is done with, handed back (`recycle`) to be filled again by the next head: once
    /// that head is gone it is the list's only holder, and refilling it allocates nothing.
    private var spare: [FieldSpan] = []

    init() {}

    /// Takes back a head's field list (`fields.spans`) for the next head. Harmless when the list is still shared when the next head comes:
    /// that head then gets a list of its own, as it would have anyway.
    mutating func recycle(_ spans: [FieldSpan]) {
        if spare.capacity == 0 { spare = spans }
    }

    /// `spans`' list, moved out (the head gets the only reference: no retain and release for the copy left behind).
    @inline(__always)
    private static func take(_ spans: inout [FieldSpan]) -> [FieldSpan] {
        var taken: [FieldSpan] = []
        swap(&taken, &spans)
        return taken
    }

    /// The spare list, emptied, or a new one.
    private mutating func takeSpare() -> [FieldSpan] {
        var spans: [FieldSpan] = []
        swap(&spans, &spare)
        spans.removeAll(keepingCapacity: true)
        spans.reserveCapacity(12)
        return spans
    }

    mutating func reset() { scanned = 0 }

    /// Parses a request head at the start of `buffer`. Empty lines before the request line are skipped (RFC 9112 §2.2).
    mutating func request(_ buffer: ByteBuffer) throws(WireError) -> HeadParse<RequestHead> {
        guard let (start, end) = try locate(buffer, skipBlankLines: true) else { return .incomplete }
        scanned = 0
        let head = buffer.getSlice(at: buffer.readerIndex + start, length: end - start) ?? ByteBuffer()
        var spans = takeSpare()
        let parsed: RequestHead = try head.withUnsafeReadableBytes {
            (p: UnsafeRawBufferPointer) throws(WireError) -> RequestHead in
            var i = 0
            // method SP
            while i < p.count && Self.isTokenByte(p[i]) { i += 1 }
            guard i > 0, i < p.count, p[i] == 32 else {
                throw WireError("The request line must start with a method and one space")
            }
            let method = Self.method(p, 0, i)
            i += 1
            // request-target SP
            let targetStart = i
            while i < p.count && p[i] > 32 && p[i] < 127 { i += 1 }
            guard i > targetStart, i < p.count, p[i] == 32 else {
                throw WireError("The request target must be visible ASCII followed by one space")
            }
            guard i - targetStart <= Self.maxTargetBytes else {
                throw WireError("The request target is longer than \(Self.maxTargetBytes / 1024) KiB", .targetTooLong)
            }
            let target = Wire.text(p, Int32(targetStart), Int32(i))
            i += 1
            // HTTP-version CRLF
            let version = try Self.version(p, at: i)
            i += 8
            guard i + 1 < p.count, p[i] == 13, p[i + 1] == 10 else {
                throw WireError("The request line must end after the version")
            }
            i += 2
            let connection = try Self.fields(p, from: i, into: &spans)
            let keepAlive = Self.keepAlive(version, connection)
            return RequestHead(
                method: method, target: target, version: version,
                fields: HeaderFields(bytes: head, spans: Self.take(&spans)),
                keepAlive: keepAlive)
        }
        return .complete(parsed, consumed: end)
    }

    /// Parses a response head at the start of `buffer`.
    mutating func response(_ buffer: ByteBuffer) throws(WireError) -> HeadParse<ResponseHead> {
        guard let (start, end) = try locate(buffer, skipBlankLines: false) else { return .incomplete }
        scanned = 0
        let head = buffer.getSlice(at: buffer.readerIndex + start, length: end - start) ?? ByteBuffer()
        var spans = takeSpare()
        let parsed: ResponseHead = try head.withUnsafeReadableBytes {
            (p: UnsafeRawBufferPointer) throws(WireError) -> ResponseHead in
            let version = try Self.version(p, at: 0)
            var i = 8
            guard i + 4 <= p.count, p[i] == 32, Self.isDigit(p[i + 1]), Self.isDigit(p[i + 2]), Self.isDigit(p[i + 3])
            else {
                throw WireError("The status line must hold a three-digit status code")
            }
            let status = Int(p[i + 1] - 48) * 100 + Int(p[i + 2] - 48) * 10 + Int(p[i + 3] - 48)
            i += 4
            var reasonStart = i
            if i < p.count && p[i] == 32 {
                i += 1
                reasonStart = i
                while i < p.count && Self.isValueByte(p[i]) { i += 1 }
            }
            let reasonEnd = i
            guard i + 1 < p.count, p[i] == 13, p[i + 1] == 10 else {
                throw WireError("The status line holds a control character")
            }
            i += 2
            let connection = try Self.fields(p, from: i, into: &spans)
            return ResponseHead(
                version: version, status: status, reasonStart: Int32(reasonStart), reasonEnd: Int32(reasonEnd),
                fields: HeaderFields(bytes: head, spans: Self.take(&spans)),
                keepAlive: Self.keepAlive(version, connection))
        }
        return .complete(parsed, consumed: end)
    }

    // MARK: - Lines

    /// Where the head lies in `buffer` (after any skipped blank lines) and where it ends (just after its blank line),
    /// or nil when the blank line has not arrived. Refuses bare CR and LF as soon as they are seen.
    private mutating func locate(_ buffer: ByteBuffer, skipBlankLines: Bool) throws(WireError) -> (Int, Int)? {
        let found: (Int, Int)?? = try buffer.withUnsafeReadableBytes {
            (p: UnsafeRawBufferPointer) throws(WireError) -> (Int, Int)?? in
            var start = 0
            if skipBlankLines {
                while start + 1 < p.count && p[start] == 13 && p[start + 1] == 10 { start += 2 }
                if start == p.count || (start + 1 == p.count && p[start] == 13) { return .some(nil) }
            }
            var i = max(start, scanned)
            let limit = min(p.count, start + Self.maxHeadBytes)
            while i < limit {
                let byte = p[i]
                if byte == 10 {
                    guard i > start, p[i - 1] == 13 else { throw WireError("A line of the head ends in a bare LF") }
                    if i - start >= 3 && p[i - 2] == 10 { return .some((start, i + 1)) }
                } else if byte == 13 {
                    if i + 1 < p.count && p[i + 1] != 10 { throw WireError("The head holds a bare CR") }
                }
                i += 1
            }
            if p.count - start >= Self.maxHeadBytes {
                // Which limit: a request line that has not even ended is an over-long target (requests only: they are
                // the heads whose leading blank lines are skipped).
                let lineEnds = !skipBlankLines || p[start..<(start + Self.maxTargetBytes + 64)].contains(10)
                throw lineEnds
                    ? WireError("The head is larger than 64 KiB", .headTooLarge)
                    : WireError("The request target is longer than \(Self.maxTargetBytes / 1024) KiB", .targetTooLong)
            }
            // Resume a little before the end: the CR LF CR LF may straddle two reads.
            scanned = max(start, p.count - 3)
            return .some(nil)
        }
        return found ?? nil
    }

    /// What the `Connection` fields of a head say about persistence.
    struct ConnectionTokens {
        var close = false
        var keepAlive = false
    }

    /// The header fields from `start` to the blank line, and what their `Connection` values say.
    /// Appends the head's fields to `spans` (empty on entry).
    private static func fields(_ p: UnsafeRawBufferPointer, from start: Int, into spans: inout [FieldSpan])
        throws(WireError)
        -> ConnectionTokens
    {
        var connection = ConnectionTokens()
        var i = start
        while true {
            guard i + 1 < p.count else { throw WireError("The head ends without a blank line") }
            if p[i] == 13 { return connection }  // the blank line (locate saw its LF)
            if p[i] == 32 || p[i] == 9 { throw WireError("Obsolete line folding is not accepted") }
            let nameStart = i
            while i < p.count && isTokenByte(p[i]) { i += 1 }
            guard i < p.count, p[i] == 58, i > nameStart else {
                throw WireError("A header name must be a token followed directly by a colon")
            }
            let nameEnd = i
            i += 1
            while i < p.count && (p[i] == 32 || p[i] == 9) { i += 1 }
            let valueStart = i
            while i < p.count && isValueByte(p[i]) { i += 1 }
            guard i + 1 < p.count, p[i] == 13, p[i + 1] == 10 else {
                throw WireError("A header value holds a control character")
            }
            var valueEnd = i
            while valueEnd > valueStart && (p[valueEnd - 1] == 32 || p[valueEnd - 1] == 9) { valueEnd -= 1 }
            i += 2
            guard spans.count < maxFields else {
                throw WireError("The head has more than \(maxFields) header fields", .headTooLarge)
            }
            let span = FieldSpan(
                nameStart: Int32(nameStart), nameEnd: Int32(nameEnd), valueStart: Int32(valueStart),
                valueEnd: Int32(valueEnd))
            spans.append(span)
            if nameEnd - nameStart == 10 && Wire.equalsFolded(p, nameStart, nameEnd, "connection") {
                Wire.forEachToken(p, valueStart, valueEnd) { a, b in
                    if Wire.equalsFolded(p, a, b, "close") { connection.close = true }
                    if Wire.equalsFolded(p, a, b, "keep-alive") { connection.keepAlive = true }
                }
            }
        }
    }

    private static func version(_ p: UnsafeRawBufferPointer, at i: Int) throws(WireError) -> HTTPVersion {
        guard i + 8 <= p.count, p[i] == 72, p[i + 1] == 84, p[i + 2] == 84, p[i + 3] == 80, p[i + 4] == 47,
            isDigit(p[i + 5]), p[i + 6] == 46, isDigit(p[i + 7])
        else { throw WireError("The HTTP version must be HTTP/1.1 or HTTP/1.0") }
        guard p[i + 5] == 49, p[i + 7] == 49 || p[i + 7] == 48 else {
            throw WireError("Only HTTP/1.1 and HTTP/1.0 are supported")
        }
        return p[i + 7] == 49 ? .http1_1 : .http1_0
    }

    private static func keepAlive(_ version: HTTPVersion, _ connection: ConnectionTokens) -> Bool {
        if connection.close { return false }
        return version.minor >= 1 || connection.keepAlive
    }

    private static func method(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> HTTPMethod {
        func is_(_ name: StaticString) -> Bool {
            guard end - start == name.utf8CodeUnitCount else { return false }
            return name.withUTF8Buffer { n in
                for k in 0..<n.count where p[start + k] != n[k] { return false }
                return true
            }
        }
        switch end - start {
        case 3: if is_("GET") { return .GET } else if is_("PUT") { return .PUT }
        case 4: if is_("POST") { return .POST } else if is_("HEAD") { return .HEAD }
        case 5: if is_("PATCH") { return .PATCH } else if is_("TRACE") { return .TRACE }
        case 6: if is_("DELETE") { return .DELETE }
        case 7: if is_("OPTIONS") { return .OPTIONS } else if is_("CONNECT") { return .CONNECT }
        default: break
        }
        return .RAW(value: Wire.text(p, Int32(start), Int32(end)))
    }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    /// `tchar` (RFC 9110 §5.6.2): the bytes of a method or a header name. Two 64-bit masks, no table: this runs for
    /// every byte of every header name.
    @inline(__always)
    static func isTokenByte(_ b: UInt8) -> Bool {
        // Bits 0-63: `!#$%&'*+-.` and the digits; bits 64-127: the letters and `^_`|~`.
        b < 64
            ? (0x03FF_6CFA_0000_0000 as UInt64) >> UInt64(b) & 1 == 1
            : b < 128 && (0x57FF_FFFF_C7FF_FFFE as UInt64) >> UInt64(b - 64) & 1 == 1
    }

    /// A byte a field value may hold (RFC 9110 §5.5): HTAB, SP, visible ASCII, obs-text. Never CR, LF, NUL or DEL.
    @inline(__always)
    static func isValueByte(_ b: UInt8) -> Bool { b == 9 || (b >= 32 && b != 127) }
}
