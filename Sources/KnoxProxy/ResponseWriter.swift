import NIOCore
import NIOHTTP1

/// How the body of an answer to the caller is delimited on the wire. The data plane writes its answers as bytes
/// itself (no `HTTPResponseEncoder`): the upstream's header lines are copied once, straight into the output buffer.
enum ResponseFraming {
    /// No body follows (HEAD, 1xx, 204, 304): body parts are dropped, nothing marks the end.
    case none
    /// `Content-Length` (the upstream's) delimits the body: parts go out as they are.
    case length
    /// `Transfer-Encoding: chunked`, added because the upstream's answer had no length and the caller speaks 1.1.
    case chunked
    /// An HTTP/1.0 caller and no length: the body ends when the connection closes.
    case close
}

enum ResponseWriter {
    /// The status line, the upstream's headers minus hop-by-hop ones (copied byte for byte from its head), then
    /// KnoxCall's (`X-Knox-Upstream-Status`, `X-Request-Id`, the rate-limit headers, `DPoP-Nonce`) and the framing;
    /// returns how the body must travel.
    static func head(
        _ upstream: ResponseHead, version: HTTPVersion, requestMethod: HTTPMethod, requestId: String,
        rateLimit: RateLimitFigures?, dpopNonce: String?, keepAlive: Bool, into out: inout ByteBuffer
    ) -> ResponseFraming {
        let status = upstream.status
        let hasBody = status >= 200 && status != 204 && status != 304 && requestMethod != .CONNECT
        let fields = upstream.fields
        let connectionNamed = HeaderRules.connectionNamed(fields)
        var framing = ResponseFraming.length
        let room = fields.bytes.readableBytes + requestId.utf8.count + (dpopNonce?.utf8.count ?? 0) + 256
        out.writeRaw(capacity: room) { w in
            var hasLength = false
            w.put(version.minor == 0 && version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
            w.decimal(status)
            w.byte(UInt8(ascii: " "))
            fields.withBytes { p in
                w.put(UnsafeRawBufferPointer(rebasing: p[Int(upstream.reasonStart)..<Int(upstream.reasonEnd)]))
                w.put("\r\n")
                for span in fields.spans {
                    let a = Int(span.nameStart)
                    let b = Int(span.nameEnd)
                    if b - a == 14 && Wire.equalsFolded(p, a, b, "content-length") {
                        guard hasBody else { continue }
                        hasLength = true
                    } else if HeaderRules.isHopByHop(p, a, b)
                        || (b - a == 12 && Wire.equalsFolded(p, a, b, "x-request-id"))
                        || (b - a == 22 && Wire.equalsFolded(p, a, b, "x-knox-upstream-status"))
                    {
                        continue
                    } else if !connectionNamed.isEmpty, HeaderRules.isAny(p, a, b, of: connectionNamed) {
                        continue
                    }
                    w.field(p, span)
                }
            }
            w.put("X-Knox-Upstream-Status: ")
            w.decimal(status)
            w.put("\r\nX-Request-Id: ")
            w.put(requestId)
            w.put("\r\n")
            if let rateLimit {
                w.put("X-RateLimit-Limit: ")
                w.decimal(rateLimit.limit)
                w.put("\r\nX-RateLimit-Remaining: ")
                w.decimal(rateLimit.remaining)
                w.put("\r\nX-RateLimit-Reset: ")
                w.decimal(Int(rateLimit.reset))
                w.put("\r\n")
            }
            if let dpopNonce {
                w.put("DPoP-Nonce: ")
                w.put(dpopNonce)
                w.put("\r\n")
            }
            if !hasBody {
                framing = .none
            } else if hasLength {
                framing = requestMethod == .HEAD ? .none : .length
            } else if version.major == 1 && version.minor >= 1 {
                // A HEAD answer may advertise the coding a GET would get (RFC 9112 §6.1), but carries no body.
                w.put("Transfer-Encoding: chunked\r\n")
                framing = requestMethod == .HEAD ? .none : .chunked
            } else {
                framing = requestMethod == .HEAD ? .none : .close
            }
            // 1.1 connections persist unless closed; 1.0 ones close unless kept alive (RFC 9112 §9.3, Appendix C.2.2).
            if !(keepAlive && framing != .close) {
                w.put("Connection: close\r\n")
            } else if version.major == 1 && version.minor == 0 {
                w.put("Connection: keep-alive\r\n")
            }
            w.put("\r\n")
        }
        return framing
    }

    /// A complete answer of KnoxCall's own (an error envelope), with a length.
    static func complete(
        version: HTTPVersion, status: HTTPResponseStatus, headers: [(String, String)], body: [UInt8], keepAlive: Bool,
        into out: inout ByteBuffer
    ) {
        statusLine(version, status, into: &out)
        for (name, value) in headers { line(name, value, into: &out) }
        out.writeStaticString("Content-Length: ")
        Wire.writeDecimal(body.count, into: &out)
        out.writeStaticString("\r\n")
        connectionHeader(version, keepAlive: keepAlive, into: &out)
        out.writeStaticString("\r\n")
        out.writeBytes(body)
    }

    static let continueLine: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"

    /// `part` as one chunk of a chunked body: size line, bytes, CRLF (the caller skips empty parts: a zero-size chunk
    /// ends the body).
    static func chunk(_ part: ByteBuffer, into out: inout ByteBuffer) {
        chunkPrefix(part.readableBytes, into: &out)
        out.writeImmutableBuffer(part)
        out.writeStaticString("\r\n")
    }

    /// The chunk-size line that precedes `count` bytes of a chunked body.
    static func chunkPrefix(_ count: Int, into out: inout ByteBuffer) {
        out.writeString(String(count, radix: 16))
        out.writeStaticString("\r\n")
    }

    private static func statusLine(_ version: HTTPVersion, _ status: HTTPResponseStatus, into out: inout ByteBuffer) {
        out.writeStaticString(version.minor == 0 && version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        Wire.writeDecimal(Int(status.code), into: &out)
        out.writeStaticString(" ")
        out.writeString(status.reasonPhrase)
        out.writeStaticString("\r\n")
    }

    /// 1.1 connections persist unless closed; 1.0 ones close unless kept alive (RFC 9112 §9.3, Appendix C.2.2).
    private static func connectionHeader(_ version: HTTPVersion, keepAlive: Bool, into out: inout ByteBuffer) {
        let legacy = version.major == 1 && version.minor == 0
        if !keepAlive {
            out.writeStaticString("Connection: close\r\n")
        } else if legacy {
            out.writeStaticString("Connection: keep-alive\r\n")
        }
    }

    @inline(__always)
    private static func line(_ name: String, _ value: String, into out: inout ByteBuffer) {
        out.writeString(name)
        out.writeStaticString(": ")
        out.writeString(value)
        out.writeStaticString("\r\n")
    }
}
