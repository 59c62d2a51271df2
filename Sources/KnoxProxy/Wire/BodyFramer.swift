import NIOCore

/// Where a message body ends (RFC 9112 §6–§7), as its bytes arrive: a `Content-Length` count, chunked coding
/// (decoded, strictly), or the connection's end. A value type driven by the decoders; body bytes come out as slices
/// of what was received, never copied.
struct BodyFramer {
    enum Event {
        /// Body bytes (already de-chunked).
        case data(ByteBuffer)
        /// The body is complete (trailers, if any, were read and dropped).
        case end
        /// More bytes are needed.
        case needMore
    }

    private enum State {
        case length(remaining: Int)
        /// Reading a chunk-size line: the size so far and how many hex digits it had.
        case size(value: Int, digits: Int)
        /// Inside a chunk extension (ignored; bounded).
        case chunkExtension(value: Int, bytes: Int)
        case sizeLF(value: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        /// Reading the trailer section: bytes of the current line, bytes of all trailers.
        case trailer(line: Int, total: Int)
        case trailerLF(line: Int, total: Int)
        case untilClose
        case done
    }

    private var state: State

    /// What `next` reads when nothing is buffered (a body may be complete without another byte).
    static let noBytes = ByteBuffer()

    static let maxChunkExtension = 4096
    static let maxTrailers = 16 * 1024

    /// A body of exactly `length` bytes.
    static func length(_ length: Int) -> BodyFramer { BodyFramer(state: .length(remaining: length)) }
    /// A chunked body.
    static var chunked: BodyFramer { BodyFramer(state: .size(value: 0, digits: 0)) }
    /// A body that ends when the connection does (responses only).
    static var untilClose: BodyFramer { BodyFramer(state: .untilClose) }

    private init(state: State) { self.state = state }

    /// The body ends only when the connection closes.
    var endsAtClose: Bool { if case .untilClose = state { true } else { false } }

    /// Takes what it can from `buffer`: a slice of body bytes, the end, or a request for more.
    mutating func next(_ buffer: inout ByteBuffer) throws(WireError) -> Event {
        while true {
            switch state {
            case .done:
                return .end
            case .untilClose:
                guard buffer.readableBytes > 0, let slice = buffer.readSlice(length: buffer.readableBytes) else {
                    return .needMore
                }
                return .data(slice)
            case .length(let remaining):
                if remaining == 0 {
                    state = .done
                    return .end
                }
                guard buffer.readableBytes > 0 else { return .needMore }
                let n = min(remaining, buffer.readableBytes)
                state = .length(remaining: remaining - n)
                guard let slice = buffer.readSlice(length: n) else { return .needMore }
                return .data(slice)
            case .data(let remaining):
                guard buffer.readableBytes > 0 else { return .needMore }
                let n = min(remaining, buffer.readableBytes)
                state = remaining == n ? .dataCR : .data(remaining: remaining - n)
                guard let slice = buffer.readSlice(length: n) else { return .needMore }
                return .data(slice)
            default:
                guard let byte: UInt8 = buffer.readInteger() else { return .needMore }
                try step(byte)
            }
        }
    }

    /// One byte of chunked framing.
    private mutating func step(_ byte: UInt8) throws(WireError) {
        switch state {
        case .size(let value, let digits):
            if let d = Self.hex(byte) {
                guard digits < 15 else { throw WireError("A chunk size is too large") }
                state = .size(value: value << 4 | d, digits: digits + 1)
            } else if digits > 0 && (byte == 59 || byte == 32 || byte == 9) {  // ";", or whitespace before one
                state = .chunkExtension(value: value, bytes: 1)
            } else if digits > 0 && byte == 13 {
                state = .sizeLF(value: value)
            } else {
                throw WireError("A chunk size line is malformed")
            }
        case .chunkExtension(let value, let bytes):
            if byte == 13 {
                state = .sizeLF(value: value)
            } else {
                guard byte == 9 || (byte >= 32 && byte != 127) else {
                    throw WireError("A chunk extension holds a control character")
                }
                guard bytes < Self.maxChunkExtension else { throw WireError("A chunk extension is too long") }
                state = .chunkExtension(value: value, bytes: bytes + 1)
            }
        case .sizeLF(let value):
            guard byte == 10 else { throw WireError("A chunk size line must end in CRLF") }
            state = value == 0 ? .trailer(line: 0, total: 0) : .data(remaining: value)
        case .dataCR:
            guard byte == 13 else { throw WireError("A chunk must be followed by CRLF") }
            state = .dataLF
        case .dataLF:
            guard byte == 10 else { throw WireError("A chunk must be followed by CRLF") }
            state = .size(value: 0, digits: 0)
        case .trailer(let line, let total):
            if byte == 13 {
                state = .trailerLF(line: line, total: total)
            } else {
                guard byte == 9 || (byte >= 32 && byte != 127) else {
                    throw WireError("A trailer field holds a control character")
                }
                guard total < Self.maxTrailers else { throw WireError("The trailer section is too large") }
                state = .trailer(line: line + 1, total: total + 1)
            }
        case .trailerLF(let line, let total):
            guard byte == 10 else { throw WireError("A trailer line must end in CRLF") }
            state = line == 0 ? .done : .trailer(line: 0, total: total + 2)
        case .length, .data, .untilClose, .done:
            break  // handled in `next`
        }
    }

    @inline(__always)
    private static func hex(_ b: UInt8) -> Int? {
        switch b {
        case 48...57: Int(b - 48)
        case 65...70: Int(b - 55)
        case 97...102: Int(b - 87)
        default: nil
        }
    }
}
