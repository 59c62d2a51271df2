import NIOCore

/// Appends bytes to a region reserved in a `ByteBuffer`, with a plain copy per piece. A request or answer head is a few
/// dozen small pieces; writing each through `ByteBuffer`'s own methods costs a capacity and uniqueness check per piece.
/// A piece that would not fit marks the writer as overflowed (nothing past the end is ever written) and the caller
/// writes the head again with room to spare.
struct RawWriter {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private(set) var count = 0
    private(set) var overflowed = false

    init(_ region: UnsafeMutableRawBufferPointer) {
        // A zero-capacity region has no base address; writing to it overflows at once.
        base = region.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1).unsafelyUnwrapped
        capacity = region.baseAddress == nil ? 0 : region.count
    }

    @inline(__always)
    private mutating func reserve(_ n: Int) -> UnsafeMutableRawPointer? {
        guard !overflowed, n <= capacity - count else {
            overflowed = true
            return nil
        }
        defer { count += n }
        return base + count
    }

    @inline(__always)
    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, let source = bytes.baseAddress, let at = reserve(bytes.count) else { return }
        at.copyMemory(from: source, byteCount: bytes.count)
    }

    @inline(__always)
    mutating func put(_ text: StaticString) {
        // withUTF8Buffer: a one-character literal may be stored as a scalar, without a pointer.
        text.withUTF8Buffer { put(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func put(_ text: String) {
        // A native string's bytes are read in place; `withUTF8` would need a mutable copy (a retain and a release).
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { put(UnsafeRawBufferPointer($0)) }
        if done == nil {
            var text = text
            text.withUTF8 { put(UnsafeRawBufferPointer($0)) }
        }
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        guard let at = reserve(1) else { return }
        at.storeBytes(of: value, as: UInt8.self)
    }

    /// One header line, `Name: value` CRLF, copied from a received head.
    @inline(__always)
    mutating func field(_ head: UnsafeRawBufferPointer, _ span: FieldSpan) {
        put(UnsafeRawBufferPointer(rebasing: head[Int(span.nameStart)..<Int(span.nameEnd)]))
        put(": ")
        put(UnsafeRawBufferPointer(rebasing: head[Int(span.valueStart)..<Int(span.valueEnd)]))
        put("\r\n")
    }

    /// `count` bytes that `body` writes in place (a value opened straight into the message). When `body` returns
    /// false, or there is no room, the bytes are zeroed and not kept.
    mutating func fill(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Bool) -> Bool {
        guard let at = reserve(count) else { return false }
        let region = UnsafeMutableRawBufferPointer(start: at, count: count)
        guard body(region) else {
            region.initializeMemory(as: UInt8.self, repeating: 0)
            self.count -= count
            return false
        }
        return true
    }

    /// Zeroes everything written so far and forgets it: a message that will not be sent, which may hold a secret.
    /// An overflowed writer stays overflowed (`writeRaw` then tries again with more room).
    mutating func wipe() {
        UnsafeMutableRawBufferPointer(start: base, count: count).initializeMemory(as: UInt8.self, repeating: 0)
        count = 0
    }

    /// `value` in decimal.
    mutating func decimal(_ value: Int) {
        if value < 0 {
            byte(UInt8(ascii: "-"))
            decimal(-value)
            return
        }
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        guard let at = reserve(digits) else { return }
        var v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            at.storeBytes(of: UInt8(48 + v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
        }
    }
}

extension ByteBuffer {
    /// Writes what `body` puts into a `RawWriter` over `capacity` reserved bytes. When it did not fit, nothing is
    /// written and the capacity is doubled until it does (heads are bounded, so this ends).
    mutating func writeRaw(capacity: Int, _ body: (inout RawWriter) -> Void) {
        var room = Swift.max(capacity, 64)
        while true {
            var fitted = false
            writeWithUnsafeMutableBytes(minimumWritableBytes: room) { region in
                var writer = RawWriter(region)
                body(&writer)
                fitted = !writer.overflowed
                return fitted ? writer.count : 0
            }
            if fitted { return }
            room *= 2
        }
    }
}
