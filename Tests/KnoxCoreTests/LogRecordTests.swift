import KnoxCore
import Testing

/// The request log's rows as bytes (`LogRecord`): what goes in reads back byte for byte, with every field present
/// or absent, and bytes that are not a whole record are refused, never read past.
@Suite struct LogRecordTests {
    static let full = RequestLogEntry(
        seq: 0, requestId: "req_0195f3a4b2c1-7d3e-8f00-1234-56789abcdef0", routeId: "rte_1", ts: 1_796_000_000_123,
        srcIp: "2001:db8::7", method: "PATCH", path: "/caf\u{e9}/e\u{301}/\u{1F600}", statusCode: 429, latencyMs: 0,
        upstreamLatencyMs: -3, upstreamHost: "api.example.test:8443", upstreamStatus: 503, error: "rate_limited",
        environment: "staging", rateLimited: true, signatureValid: false, matchedClientId: "cli_9",
        identificationMethod: "api_key", apiKeyId: "key_4", proxyMode: "route", clientOrigin: "sdk_intercept",
        requestHeaders: "Accept: */*\nX-Note: gr\u{fc}\u{df}e\n")

    static let sparse = RequestLogEntry(requestId: "r", ts: -5, method: "GET", path: "")

    @Test func entriesReadBackExactly() {
        for entry in [Self.full, Self.sparse] {
            let record = LogRecord(entry)
            defer { record.release() }
            var expected = entry
            expected.seq = 42
            let back = record.entry(seq: 42)
            #expect(back == expected)
            // Byte for byte: `==` on strings would also take canonically equivalent text.
            #expect(back.map { Array($0.path.utf8) } == Array(entry.path.utf8))
        }
    }

    /// A text written in place (the event loop writes the headers' text straight into the record) reads back as
    /// the bytes written, whether it fills its bound or is empty.
    @Test func textWrittenInPlace() {
        for text in ["A: 1\nCookie: \u{2039}redacted\u{203a}\n", ""] {
            var b = LogRecordBuilder(capacity: 8)  // too small: the builder grows
            b.text("req_x")
            b.text(String?.none)
            b.int(Int64(7))
            b.text(String?.none)
            b.text("GET")
            b.text("/")
            for _ in 0..<3 { b.int(Int?.none) }
            b.text(String?.none)
            b.int(Int?.none)
            for _ in 0..<2 { b.text(String?.none) }
            b.int(0)
            b.int(Int?.none)
            for _ in 0..<3 { b.text(String?.none) }
            b.text("route")
            b.text("direct")
            let bytes = Array(text.utf8)
            b.text(bound: bytes.count + 40) { out in
                out.copyBytes(from: bytes)
                return bytes.count
            }
            let record = b.finish()
            defer { record.release() }
            let entry = record.entry(seq: 1)
            #expect(entry?.requestHeaders == text)
            #expect(entry?.requestId == "req_x")
            #expect(entry?.ts == 7)
        }
    }

    @Test func recordWithoutRequiredFieldIsNotARow() {
        var b = LogRecordBuilder(capacity: 64)
        b.text("req_x")
        for _ in 0..<(LogRecord.fieldCount - 1) { b.text(String?.none) }
        let record = b.finish()
        defer { record.release() }
        #expect(record.entry(seq: 1) == nil)
    }

    @Test func cutOrPaddedBytesAreRefused() {
        let record = LogRecord(Self.full)
        defer { record.release() }
        let fields = UnsafeMutablePointer<LogRecordField>.allocate(capacity: LogRecord.fieldCount)
        fields.initialize(repeating: LogRecordField(), count: LogRecord.fieldCount)
        defer { fields.deallocate() }
        #expect(record.parse(into: fields))
        for length in 0..<record.count {
            let cut = LogRecord(copying: UnsafeRawBufferPointer(rebasing: record.bytes[..<length]))
            defer { cut.release() }
            #expect(!cut.parse(into: fields), "a record cut to \(length) of \(record.count) bytes")
            #expect(cut.entry(seq: 1) == nil)
        }
        let padded = (Array(record.bytes) + [0]).withUnsafeBytes { LogRecord(copying: $0) }
        defer { padded.release() }
        #expect(!padded.parse(into: fields))
    }
}

extension LogRecord {
    /// A record holding a copy of `bytes` (for tests that damage one).
    init(copying bytes: UnsafeRawBufferPointer) {
        let base = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        if let source = bytes.baseAddress { base.copyMemory(from: source, byteCount: bytes.count) }
        self.init(base: base, count: bytes.count)
    }
}
