import KnoxCore
import NIOCore

/// The request log's copy of the caller's headers: KnoxCall credentials redacted wherever they appear.
extension HeaderRules {
    static let credentialMarkers: [[UInt8]] = [
        "tk_live_", "tk_test_", "kc_live_", "kc_test_", "kcr_live_", "kcr_test_",
    ]
    .map { Array($0.utf8) }

    /// Whether `p[a..<b]` holds a KnoxCall key or token anywhere (`tk_live_`, `kc_test_`, `kcr_live_`, …).
    static func holdsKnoxCallCredential(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        guard b - a >= 8 else { return false }
        for i in a...(b - 8) where p[i] == UInt8(ascii: "t") || p[i] == UInt8(ascii: "k") {
            for marker in credentialMarkers where i + marker.count <= b {
                var match = true
                for j in 0..<marker.count where p[i + j] != marker[j] {
                    match = false
                    break
                }
                if match { return true }
            }
        }
        return false
    }

    static func holdsKnoxCallCredential(_ value: String) -> Bool {
        withBytes(value) { holdsKnoxCallCredential($0, 0, $0.count) }
    }

    /// Headers whose values are credentials: logged as `‹redacted›`.
    static let credentialHeaders = [
        "authorization", "proxy-authorization", "x-knoxcall-key", "x-api-key", "cookie", "dpop", "x-signature",
        "x-knoxcall-agent-token", "x-amz-security-token",
    ]

    /// The caller's headers as `Name: value` lines for the log row (at most 4 KiB), credentials redacted: a header
    /// named as a credential, or any value that holds a KnoxCall key or token.
    static func loggable(_ fields: HeaderFields) -> String {
        let bound = loggableBound(fields)
        guard bound <= loggableLimit else { return loggableCut(fields) }
        // Written straight into the string's storage (the bound always fits): one allocation per row.
        return String(unsafeUninitializedCapacity: max(bound, 1)) { out in
            writeLoggable(fields, into: UnsafeMutableRawBufferPointer(out))
        }
    }

    /// The most bytes `loggable` can write for `fields` uncut; above `loggableLimit`, the text is cut.
    static func loggableBound(_ fields: HeaderFields) -> Int {
        let redactedCount = redacted.count
        return fields.spans.reduce(0) { $0 + $1.nameCount + 3 + max($1.valueCount, redactedCount) }
    }

    static let loggableLimit = 4096

    /// `loggable`'s text written into `out` (room for `loggableBound(fields)` bytes); returns how many it wrote.
    static func writeLoggable(_ fields: HeaderFields, into out: UnsafeMutableRawBufferPointer) -> Int {
        var w = RawWriter(out)
        fields.withBytes { p in
            for span in fields.spans { loggableLine(p, span, into: &w) }
        }
        return w.count
    }

    /// `loggable` for heads whose lines may pass 4 KiB: the text is cut there.
    private static func loggableCut(_ fields: HeaderFields) -> String {
        var out = ByteBuffer()
        fields.withBytes { p in
            for span in fields.spans {
                out.writeRaw(capacity: span.nameCount + span.valueCount + 32) { w in loggableLine(p, span, into: &w) }
                if out.readableBytes > 4096 { break }
            }
        }
        return String(decoding: out.readableBytesView.prefix(4096), as: UTF8.self)
    }

    /// One `Name: value` line of the log, the value redacted when it is a credential: a header named as one, or any
    /// value that holds a KnoxCall key or token.
    @inline(__always)
    private static func loggableLine(_ p: UnsafeRawBufferPointer, _ span: FieldSpan, into w: inout RawWriter) {
        let a = Int(span.nameStart)
        let b = Int(span.nameEnd)
        let va = Int(span.valueStart)
        let vb = Int(span.valueEnd)
        let secret =
            isAny(p, a, b, of: credentialHeaders) || holdsKnoxCallCredential(p, va, vb)
            || KeyCredential.parse(bytes: UnsafeBufferPointer(rebasing: p.assumingMemoryBound(to: UInt8.self)[va..<vb]))
                != nil
        w.put(UnsafeRawBufferPointer(rebasing: p[a..<b]))
        w.put(": ")
        if secret {
            redacted.withUnsafeBytes { w.put($0) }
        } else {
            w.put(UnsafeRawBufferPointer(rebasing: p[va..<vb]))
        }
        w.byte(UInt8(ascii: "\n"))
    }

    private static let redacted = Array("‹redacted›".utf8)
}
