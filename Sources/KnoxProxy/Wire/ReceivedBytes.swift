import NIOCore

/// Bytes a connection delivered that a decoder has not used yet: a partial head or body, or whole pipelined messages.
/// Shared by `RequestDecoder` and `ResponseDecoder`.
struct ReceivedBytes {
    private(set) var buffer: ByteBuffer?

    var count: Int { buffer?.readableBytes ?? 0 }

    /// Adds a read. Held bytes are appended to in place (taken out first, so the append copies nothing already there
    /// unless a slice handed out still shares them).
    mutating func append(_ bytes: ByteBuffer) {
        if var held = buffer, held.readableBytes > 0 {
            buffer = nil
            held.writeImmutableBuffer(bytes)
            buffer = held
        } else {
            buffer = bytes
        }
    }

    /// Drops the first `n` bytes (a parsed head).
    mutating func consume(_ n: Int) {
        guard var held = buffer else { return }
        held.moveReaderIndex(forwardBy: n)
        buffer = held.readableBytes > 0 ? held : nil
    }

    mutating func clear() { buffer = nil }

    /// Runs `framer` over what is held. With nothing held it still runs, on an empty buffer: a body that is complete
    /// says so without another byte.
    mutating func frame(_ framer: inout BodyFramer) throws(WireError) -> BodyFramer.Event {
        var bytes = buffer ?? BodyFramer.noBytes
        buffer = nil
        defer { if bytes.readableBytes > 0 { buffer = bytes } }
        return try framer.next(&bytes)
    }
}
