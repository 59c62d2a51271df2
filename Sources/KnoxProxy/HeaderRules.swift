import KnoxCore
import KnoxDataPlane
import NIOCore

/// Which headers cross the proxy, in each direction. The rules work on the bytes of a received head (`p[a..<b]`);
/// the `String` forms serve configuration values and tests, and go through the same byte rules.
enum HeaderRules {
    /// Hop-by-hop headers (RFC 9110 §7.6.1) and framing headers the proxy sets itself.
    static let hopByHop: [String] = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length", "host", "expect",
    ]

    // MARK: - Names

    /// ASCII case-insensitive equality against a lowercase name, without allocating.
    @inline(__always)
    static func same(_ name: String, _ lower: String) -> Bool {
        guard name.utf8.count == lower.utf8.count else { return false }
        return zip(name.utf8, lower.utf8).allSatisfy { x, y in Wire.folded(x) == y }
    }

    /// Whether `p[a..<b]` names a header in `hopByHop`. Every header of every request and answer passes here, so the
    /// length picks the candidates before any byte is compared.
    @inline(__always)
    static func isHopByHop(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        func named(_ lower: StaticString) -> Bool { Wire.equalsFolded(p, a, b, lower) }
        switch b - a {
        case 2: return named("te")
        case 4: return named("host")
        case 6: return named("expect")
        case 7: return named("upgrade") || named("trailer")
        case 10: return named("connection") || named("keep-alive")
        case 14: return named("content-length")
        case 16: return named("proxy-connection")
        case 17: return named("transfer-encoding")
        case 18: return named("proxy-authenticate")
        case 19: return named("proxy-authorization")
        default: return false
        }
    }

    static func isHopByHop(_ name: String) -> Bool { withBytes(name) { isHopByHop($0, 0, $0.count) } }

    /// Whether `p[a..<b]` starts with `x-knoxcall-` (any case) and names something after it.
    @inline(__always)
    static func isKnoxcallHeader(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        b - a > 11 && Wire.hasFoldedPrefix(p, a, b, "x-knoxcall-")
    }

    static func isKnoxcallHeader(_ name: String) -> Bool { withBytes(name) { isKnoxcallHeader($0, 0, $0.count) } }

    /// Whether a `Connection` value names headers (anything besides `keep-alive` and `close`), which then become
    /// hop-by-hop too. The usual `keep-alive` costs no list of tokens.
    static func connectionNamesHeaders(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        var names = false
        Wire.forEachToken(p, a, b) { x, y in
            if !Wire.equalsFolded(p, x, y, "keep-alive") && !Wire.equalsFolded(p, x, y, "close") { names = true }
        }
        return names
    }

    static func connectionNamesHeaders(_ value: String) -> Bool {
        withBytes(value) { connectionNamesHeaders($0, 0, $0.count) }
    }

    /// The header names a head's `Connection` fields list (lowercased), which are hop-by-hop too. Empty, and nothing
    /// allocated, when the only tokens are `keep-alive` and `close`: the usual case.
    static func connectionNamed(_ fields: HeaderFields) -> [String] {
        fields.withBytes { p in
            var named: [String] = []
            for span in fields.spans
            where span.nameCount == 10 && Wire.equalsFolded(p, Int(span.nameStart), Int(span.nameEnd), "connection") {
                Wire.forEachToken(p, Int(span.valueStart), Int(span.valueEnd)) { x, y in
                    if !Wire.equalsFolded(p, x, y, "keep-alive") && !Wire.equalsFolded(p, x, y, "close") {
                        named.append(Wire.text(p, Int32(x), Int32(y)).lowercased())
                    }
                }
            }
            return named
        }
    }

    /// Whether `p[a..<b]` is one of `lowercased` names.
    @inline(__always)
    static func isAny(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, of lowercased: some Sequence<String>) -> Bool {
        lowercased.contains { isNamed(p, a, b, $0) }
    }

    /// Whether `p[a..<b]` is `lowercased` in any case.
    @inline(__always)
    static func isNamed(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, _ lowercased: String) -> Bool {
        guard lowercased.utf8.count == b - a else { return false }
        var i = a
        for byte in lowercased.utf8 {
            if Wire.folded(p[i]) != byte { return false }
            i += 1
        }
        return true
    }

    // MARK: - Upstream request

    /// What the caller's head turns into upstream, besides its own fields.
    struct UpstreamAdditions {
        var hostHeader: String
        var clientText: String?
        var peerIsTrustedProxy: Bool
        var requestId: String
        var injected: [(name: String, lowercased: String, value: String)]
        var consumedSignature: Bool
        var bodyLength: Int?
        var chunked: Bool
        var hasConnectionTokens: Bool
        /// The route's injected headers when each is written in place (`RoutePlan.injectsInPlace`); `injected` is
        /// then empty.
        var inPlace: InPlaceInjection? = nil
    }

    /// Injected headers whose values are written into the head as their secrets are opened (`Injector.writeValue`).
    struct InPlaceInjection {
        let headers: [InjectedHeader]
        let opener: SecretOpener
    }

    /// Bit n set when an injected header's name is n bytes long (63 for longer ones): a caller's field whose length
    /// has no bit is no injected header's, and is not compared with their names.
    static func nameLengths(_ add: UpstreamAdditions) -> UInt64 {
        var mask: UInt64 = 0
        for header in add.injected { mask |= 1 << UInt64(min(header.lowercased.utf8.count, 63)) }
        for header in add.inPlace?.headers ?? [] { mask |= 1 << UInt64(min(header.lowercasedName.utf8.count, 63)) }
        return mask
    }

    /// Writes the request head to send upstream: the request line, Host, the caller's fields minus hop-by-hop
    /// headers, KnoxCall's own headers and credentials, and forwarding headers the caller is not trusted to set;
    /// then X-Forwarded-*, X-Request-Id, the injected headers (which replace any the caller sent under the same
    /// name) and the framing. Caller fields are copied byte for byte from the received head.
    /// Throws the injector's refusal when an injected value cannot be written (nothing of the head is kept then).
    static func upstreamHead(
        method: String, target: String, caller fields: HeaderFields, _ add: UpstreamAdditions,
        allocator: ByteBufferAllocator
    ) throws(Refusal) -> ByteBuffer {
        // Allocated at its final size: one allocation, no growth.
        let room = upstreamHeadRoom(method: method, target: target, caller: fields, add)
        var out = allocator.buffer(capacity: room)
        try writeUpstreamHead(method: method, target: target, caller: fields, add, room: room, into: &out)
        return out
    }

    /// An upper bound of the upstream head's size (forwarded caller fields are never longer than they arrived).
    static func upstreamHeadRoom(method: String, target: String, caller fields: HeaderFields, _ add: UpstreamAdditions)
        -> Int
    {
        var room = fields.bytes.readableBytes + method.utf8.count + target.utf8.count + add.hostHeader.utf8.count + 180
        room += add.requestId.utf8.count + (add.clientText?.utf8.count ?? 0)
        for header in add.injected { room += header.name.utf8.count + header.value.utf8.count + 4 }
        for header in add.inPlace?.headers ?? [] { room += header.name.utf8.count + (header.inPlaceLength ?? 0) + 4 }
        return room
    }

    /// `room`: `upstreamHeadRoom` for these arguments, when the caller has already worked it out.
    static func writeUpstreamHead(
        method: String, target: String, caller fields: HeaderFields, _ add: UpstreamAdditions, room: Int? = nil,
        into out: inout ByteBuffer
    ) throws(Refusal) {
        // Names the caller listed in `Connection` are hop-by-hop too (rare; only then is anything allocated).
        let connectionNamed = add.hasConnectionTokens ? connectionNamed(fields) : []
        let room = room ?? upstreamHeadRoom(method: method, target: target, caller: fields, add)
        // What the loop over the caller's fields needs, as locals: the closure captured a copy of all of `add`.
        let injected = add.injected
        let inPlace = add.inPlace
        let injectedLengths = nameLengths(add)
        let peerIsTrustedProxy = add.peerIsTrustedProxy
        let consumedSignature = add.consumedSignature
        var refusal: Refusal?
        out.writeRaw(capacity: room) { w in
            // Each pass starts afresh (writeRaw runs this again, with more room, when a pass did not fit).
            refusal = nil
            w.put(method)
            w.byte(UInt8(ascii: " "))
            w.put(target)
            w.put(" HTTP/1.1\r\nHost: ")
            w.put(add.hostHeader)
            w.put("\r\n")
            var forwardedFor: String?
            var forwardedProto: String?
            fields.withBytes { p in
                for span in fields.spans {
                    let a = Int(span.nameStart)
                    let b = Int(span.nameEnd)
                    func named(_ lower: StaticString) -> Bool { Wire.equalsFolded(p, a, b, lower) }
                    if isHopByHop(p, a, b) || isKnoxcallHeader(p, a, b) { continue }
                    if injectedLengths >> UInt64(min(b - a, 63)) & 1 == 1 {
                        if injected.contains(where: { isNamed(p, a, b, $0.lowercased) }) { continue }
                        if let inPlace, inPlace.headers.contains(where: { isNamed(p, a, b, $0.lowercasedName) }) {
                            continue
                        }
                    }
                    if !connectionNamed.isEmpty && isAny(p, a, b, of: connectionNamed) { continue }
                    switch b - a {
                    case 15 where named("x-forwarded-for"):
                        if peerIsTrustedProxy {
                            let value = Wire.text(p, span.valueStart, span.valueEnd)
                            forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value
                        }
                        continue
                    case 17 where named("x-forwarded-proto"):
                        if peerIsTrustedProxy { forwardedProto = Wire.text(p, span.valueStart, span.valueEnd) }
                        continue
                    case 9 where named("forwarded"), 12 where named("x-request-id"), 4 where named("dpop"):
                        continue
                    case 13 where named("authorization"):
                        // The caller's KnoxCall credential never reaches the upstream; its own upstream credential does.
                        let value = Wire.text(p, span.valueStart, span.valueEnd)
                        if Gate.knoxcallToken(value) != nil || KeyCredential.parse(bearer(value)) != nil { continue }
                    case 11 where consumedSignature && (named("x-timestamp") || named("x-signature")):
                        continue
                    default:
                        break
                    }
                    w.field(p, span)
                }
            }
            if let client = add.clientText {
                w.put("X-Forwarded-For: ")
                if let forwardedFor {
                    w.put(forwardedFor)
                    w.put(", ")
                }
                w.put(client)
                w.put("\r\n")
            }
            w.put("X-Forwarded-Proto: ")
            if let forwardedProto { w.put(forwardedProto) } else { w.put("http") }
            w.put("\r\nX-Request-Id: ")
            w.put(add.requestId)
            // Our hop, after any the caller's Via lists (forwarded as they came): a loop through other proxies is
            // counted, and cut, where it comes back in (Gate, `maxHops`).
            w.put("\r\nVia: 1.1 knoxcall\r\n")
            for header in add.injected {
                w.put(header.name)
                w.put(": ")
                w.put(header.value)
                w.put("\r\n")
            }
            if let injection = inPlace {
                for header in injection.headers {
                    w.put(header.name)
                    w.put(": ")
                    let filled = w.fill(header.inPlaceLength ?? 0) { value in
                        do throws(Refusal) {
                            try Injector.writeValue(header, opener: injection.opener, into: value)
                            return true
                        } catch {
                            refusal = error
                            return false
                        }
                    }
                    guard filled else {
                        // Out of room (writeRaw tries again with more) or refused: either way this pass's bytes are
                        // not kept, and earlier headers' secrets are wiped with them.
                        if w.overflowed {
                            refusal = nil
                        } else if refusal == nil {
                            refusal = Refusal(.secretUnusable, "Header \(header.name) could not be written")
                        }
                        w.wipe()
                        return
                    }
                    w.put("\r\n")
                }
            }
            if let length = add.bodyLength {
                w.put("Content-Length: ")
                w.decimal(length)
                w.put("\r\n")
            } else if add.chunked {
                w.put("Transfer-Encoding: chunked\r\n")
            }
            w.put("\r\n")
        }
        if let refusal { throw refusal }
    }

    private static func bearer(_ value: String) -> String {
        let parts = value.split(separator: " ", maxSplits: 1)
        return parts.count == 2 ? String(parts[1]) : value
    }

    // MARK: - Log

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

    @inline(__always)
    private static func withBytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var text = text
        return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}
