import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal blocking HTTP/1.1 client over a plain socket, for tests that care about the bytes on the wire
/// (413 before the body is read, keep-alive, malformed requests).
public final class RawHTTP: @unchecked Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    let fd: Int32
    /// Bytes received but not yet consumed (a pipelined second response may arrive with the first).
    /// Used from one thread at a time (hence `@unchecked Sendable`).
    private var buffer: [UInt8] = []

    public init(port: Int, host: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw TestFailure("connect to \(port) failed")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    public func close() { _ = Glibc.close(fd) }

    /// Closes the sending side only (a half-close: the peer reads the end of the stream).
    public func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Sends raw bytes; returns false when the peer has closed.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads one response: framed by Content-Length, by chunked coding (decoded strictly: a malformed chunk fails the
    /// read), or by the connection's end when it has neither. `bodiless` is for answers that never carry a body
    /// (to HEAD, 204, 304), whatever their headers advertise.
    public func readResponse(bodiless: Bool = false) throws -> Response {
        let response = try readResponseUncaptured(bodiless: bodiless)
        var text = "HTTP \(response.status)\r\n"
        for (name, value) in response.headers { text += "\(name): \(value)\r\n" }
        Capture.record(
            "http-response", Array((text + "\r\n").utf8) + response.body,
            upstreamAuthored: response.header("X-Upstream") != nil)
        return response
    }

    private func readResponseUncaptured(bodiless: Bool) throws -> Response {
        var end = headerEnd()
        while end == nil {
            try fill()
            end = headerEnd()
        }
        let headerLength = end ?? 0
        let lines = String(decoding: buffer[0..<headerLength], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        buffer.removeFirst(headerLength + 4)
        func value(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        if bodiless {
            return Response(status: status, headers: headers, body: [])
        }
        if value("transfer-encoding")?.lowercased() == "chunked" {
            return Response(status: status, headers: headers, body: try readChunked())
        }
        guard let lengthText = value("content-length") else {
            while try fill(allowEnd: true) {}
            defer { buffer = [] }
            return Response(status: status, headers: headers, body: buffer)
        }
        let length = Int(lengthText) ?? 0
        while buffer.count < length { try fill() }
        let response = Response(status: status, headers: headers, body: Array(buffer[0..<length]))
        buffer.removeFirst(length)
        return response
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        return (0...(buffer.count - 4)).first {
            buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10
        }
    }

    /// One CRLF-terminated line, without the CRLF.
    private func readLine() throws -> [UInt8] {
        while true {
            if buffer.count >= 2,
                let i = (0..<(buffer.count - 1)).first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 })
            {
                let line = Array(buffer[0..<i])
                buffer.removeFirst(i + 2)
                return line
            }
            try fill()
        }
    }

    private func readChunked() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = String(decoding: try readLine(), as: UTF8.self)
            guard let size = Int(sizeLine.split(separator: ";").first.map(String.init) ?? "", radix: 16), size >= 0
            else {
                throw TestFailure("malformed chunk size line: \(sizeLine)")
            }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailers, then the empty line
                return body
            }
            while buffer.count < size + 2 { try fill() }
            body += buffer[0..<size]
            guard buffer[size] == 13, buffer[size + 1] == 10 else {
                throw TestFailure("chunk data not followed by CRLF")
            }
            buffer.removeFirst(size + 2)
        }
    }

    /// Whether the peer has closed the connection (waits up to `seconds` for bytes or the end).
    public func peerClosed(within seconds: Int = 5) -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK)) == 0
    }

    /// Whether the peer closes the connection within `seconds`, reading and dropping whatever it sends first (an
    /// answer before the close).
    public func closedAfterDraining(within seconds: Int = 5) -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { return true }
            if n < 0 { return false }
        }
    }

    /// Reads more bytes. At the connection's end: false when `allowEnd`, else an error.
    @discardableResult
    private func fill(allowEnd: Bool = false) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n == 0 && allowEnd { return false }
        guard n > 0 else {
            let why =
                n == 0
                ? "the peer closed it"
                : errno == EAGAIN || errno == EWOULDBLOCK ? "no bytes within the receive timeout" : "errno \(errno)"
            throw TestFailure("connection closed before a full response (\(why))")
        }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// Raw bytes on a fresh connection (anything, well-formed or not); returns the first response.
    public static func exchange(port: Int, _ bytes: String) throws -> Response {
        let client = try RawHTTP(port: port)
        defer { client.close() }
        client.send(bytes)
        return try client.readResponse()
    }

    /// One request on a fresh connection.
    public static func request(
        port: Int, method: String, path: String, headers: [String: String] = [:], body: String? = nil
    ) throws -> Response {
        let client = try RawHTTP(port: port)
        defer { client.close() }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        client.send(text)
        return try client.readResponse()
    }
}

/// Runs blocking work (sockets, processes) on its own thread, so it never holds one of the few threads of Swift's
/// cooperative pool that the server under test needs to answer.
public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do {
                continuation.resume(returning: try work())
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.start()
    }
}
