import NIOCore

@testable import KnoxProxy

/// The HTTP/1 decoders, fed the same bytes twice: all at once and in random small pieces, as a network would deliver
/// them. Both feedings must decode to the same requests (or answers) and fail the same way: a difference means the
/// decoder's state depends on where reads happen to split, the root of many smuggling bugs.
enum HTTPFuzz {
    static func request(_ input: [UInt8]) {
        let whole = requestTrace(input, pieces: nil)
        let split = requestTrace(input, pieces: InputRandom(input))
        FuzzCheck(whole == split, "request decoding depends on how the bytes were split:\n\(whole)\n---\n\(split)")
    }

    static func response(_ input: [UInt8]) {
        let toHEAD = (input.first ?? 0) & 1 == 1
        let bytes = Array(input.dropFirst())
        let whole = responseTrace(bytes, toHEAD: toHEAD, pieces: nil)
        let split = responseTrace(bytes, toHEAD: toHEAD, pieces: InputRandom(input))
        FuzzCheck(whole == split, "answer decoding depends on how the bytes were split:\n\(whole)\n---\n\(split)")
    }

    /// What a request decoder made of `input`: one line per head (with its fields), per completed body (its length
    /// and a checksum, as the pieces a body arrives in are allowed to differ) and per failure.
    static func requestTrace(_ input: [UInt8], pieces: InputRandom?) -> [String] {
        var decoder = RequestDecoder()
        var trace: [String] = []
        var body = BodySum()
        var events = 0
        deliver(input, pieces: pieces) { bytes in
            decoder.feed(bytes)
            while true {
                let event: RequestDecoder.Event?
                do throws(RequestDecoder.Failure) {
                    event = try decoder.next()
                } catch {
                    trace.append(
                        "fail \(error.error.kind) \(error.error.message) head=\(error.head.map(describe) ?? "-")")
                    return false
                }
                guard let event else { return true }
                events += 1
                FuzzCheck(events <= 3 * input.count + 3, "the request decoder yields events without consuming bytes")
                switch event {
                case .head(let head, _):
                    check(head.fields)
                    FuzzCheck(!head.target.isEmpty && !head.target.utf8.contains(32), "a request target with a space")
                    trace.append("head " + describe(head))
                case .body(let slice):
                    body.add(slice)
                case .end:
                    trace.append("end " + body.take())
                }
            }
        }
        FuzzCheck(body.total <= input.count, "more body bytes than bytes received")
        return trace
    }

    static func responseTrace(_ input: [UInt8], toHEAD: Bool, pieces: InputRandom?) -> [String] {
        var decoder = ResponseDecoder()
        decoder.expect(toHEAD: toHEAD)
        var trace: [String] = []
        var body = BodySum()
        var events = 0
        var stopped = false
        deliver(input, pieces: pieces) { bytes in
            decoder.feed(bytes)
            while true {
                let event: ResponseDecoder.Event?
                do throws(WireError) {
                    event = try decoder.next()
                } catch {
                    trace.append("fail \(error.kind) \(error.message)")
                    stopped = true
                    return false
                }
                guard let event else { return true }
                events += 1
                FuzzCheck(events <= 3 * input.count + 3, "the answer decoder yields events without consuming bytes")
                switch event {
                case .head(let head):
                    check(head.fields)
                    FuzzCheck(
                        (200...999).contains(head.status), "an interim or impossible status handed on: \(head.status)")
                    trace.append(
                        "head \(head.status) \(head.version) keepAlive=\(head.keepAlive) \(fields(head.fields))")
                case .body(let slice):
                    body.add(slice)
                case .end:
                    // Whether bytes beyond the answer had arrived yet depends on the split (and such a connection is
                    // not reused), so the trace ends at the answer's end, without `reusable`.
                    trace.append("end " + body.take())
                    stopped = true
                    return false
                }
            }
        }
        if !stopped, let end = decoder.closed() { trace.append("closed \(end)" + body.take()) }
        return trace
    }

    /// Hands `input` to `take` all at once, or in random pieces of 1 to 17 bytes, until `take` returns false.
    static func deliver(_ input: [UInt8], pieces: InputRandom?, _ take: (ByteBuffer) -> Bool) {
        var pieces = pieces
        var offset = 0
        while offset < input.count {
            let end = min(input.count, offset + ((pieces?.next(17)).map { $0 + 1 } ?? input.count))
            guard take(ByteBuffer(bytes: input[offset..<end])) else { return }
            offset = end
        }
    }

    static func describe(_ head: RequestHead) -> String {
        "\(head.method) \(head.target) \(head.version) keepAlive=\(head.keepAlive) \(fields(head.fields))"
    }

    static func fields(_ fields: HeaderFields) -> String {
        (0..<fields.count).map { "\(fields.name($0))=\(fields.value($0))" }.joined(separator: "|")
    }

    /// Field names are tokens and values hold no CR, LF or NUL (what a forwarded head must never carry).
    static func check(_ fields: HeaderFields) {
        for i in 0..<fields.count {
            let name = fields.name(i).utf8
            FuzzCheck(!name.isEmpty && name.allSatisfy(HeadParser.isTokenByte), "a field name that is not a token")
            FuzzCheck(
                fields.value(i).utf8.allSatisfy { $0 != 13 && $0 != 10 && $0 != 0 }, "a field value with CR, LF or NUL")
        }
    }
}

/// A body's length and checksum, however it was cut into pieces.
struct BodySum {
    private var count = 0
    private var sum: UInt64 = 0
    private(set) var total = 0

    mutating func add(_ slice: ByteBuffer) {
        slice.withUnsafeReadableBytes { p in
            for b in p { sum = (sum &* 31) &+ UInt64(b) }
        }
        count += slice.readableBytes
        total += slice.readableBytes
    }

    mutating func take() -> String {
        defer {
            count = 0
            sum = 0
        }
        return "\(count) bytes #\(sum)"
    }
}
