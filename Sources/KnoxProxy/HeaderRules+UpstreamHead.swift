import KnoxCore
import KnoxDataPlane
import NIOCore

/// The upstream request head: the caller's fields that may cross, then KnoxCall's additions and the injected headers.
extension HeaderRules {
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
}
