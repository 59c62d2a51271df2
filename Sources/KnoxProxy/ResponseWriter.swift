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
        var hasLength = false
        out.writeStaticString(version.minor == 0 && version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        Wire.writeDecimal(status, into: &out)
        out.writeStaticString(" ")
        fields.withBytes { p in
            out.writeBytes(UnsafeRawBufferPointer(rebasing: p[Int(upstream.reasonStart)..<Int(upstream.reasonEnd)]))
            out.writeStaticString("\r\n")
            for span in fields.spans {
                let a = Int(span.nameStart)
                let b = Int(span.nameEnd)
                if b - a == 14 && Wire.equalsFolded(p, a, b, "content-length") {
                    guard hasBody else { continue }
                    hasLength = true
                } else if HeaderRules.isHopByHop(p, a, b) || (b - a == 12 && Wire.equalsFolded(p, a, b, "x-request-id"))
                    || (b - a == 22 && Wire.equalsFolded(p, a, b, "x-knox-upstream-status"))
                {
                    continue
                } else if !connectionNamed.isEmpty, HeaderRules.isAny(p, a, b, of: connectionNamed) {
                    continue
                }
                out.writeBytes(UnsafeRawBufferPointer(rebasing: p[a..<b]))
                out.writeStaticString(": ")
                out.writeBytes(UnsafeRawBufferPointer(rebasing: p[Int(span.valueStart)..<Int(span.valueEnd)]))
                out.writeStaticString("\r\n")
            }
        }
        out.writeStaticString("X-Knox-Upstream-Status: ")
        Wire.writeDecimal(status, into: &out)
        out.writeStaticString("\r\n")
        line("X-Request-Id", requestId, into: &out)
        if let rateLimit {
            out.writeStaticString("X-RateLimit-Limit: ")
            Wire.writeDecimal(rateLimit.limit, into: &out)
            out.writeStaticString("\r\nX-RateLimit-Remaining: ")
            Wire.writeDecimal(rateLimit.remaining, into: &out)
            out.writeStaticString("\r\nX-RateLimit-Reset: ")
            Wire.writeDecimal(Int(rateLimit.reset), into: &out)
            out.writeStaticString("\r\n")
        }
        if let dpopNonce { line("DPoP-Nonce", dpopNonce, into: &out) }
        let framing: ResponseFraming
        if !hasBody {
            framing = .none
        } else if hasLength {
            framing = requestMethod == .HEAD ? .none : .length
        } else if version.major == 1 && version.minor >= 1 {
            // A HEAD answer may advertise the coding a GET would get (RFC 9112 §6.1), but carries no body.
            out.writeStaticString("Transfer-Encoding: chunked\r\n")
            framing = requestMethod == .HEAD ? .none : .chunked
        } else {
            framing = requestMethod == .HEAD ? .none : .close
        }
        connectionHeader(version, keepAlive: keepAlive && framing != .close, into: &out)
        out.writeStaticString("\r\n")
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
