import KnoxCore

/// One HTTP request as the management API sees it: fully read (bodies are at most 1 MiB).
public struct APIRequest: Sendable {
    public var method: String
    /// The path without the query, still percent-encoded.
    public var path: String
    public var rawQuery: String?
    /// Header fields in arrival order; names as sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var remoteAddress: String?

    public init(
        method: String, path: String, rawQuery: String? = nil, headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], remoteAddress: String? = nil
    ) {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// Splits `target` (`/v1/routes?page=2`) into path and query.
    public static func split(target: String) -> (path: String, query: String?) {
        guard let q = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<q]), String(target[target.index(after: q)...]))
    }
}

/// One HTTP response.
public struct APIResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Close the connection after this response (413: the rest of the body is not read).
    public var closeConnection = false

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Query-string and path decoding.
enum URLDecoding {
    /// Percent-decodes `text`; with `plusIsSpace`, `+` means a space (form encoding). Nil for a bad escape or
    /// invalid UTF-8.
    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        var it = Array(text.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%") {
                guard it.count >= 2, let hi = hex(it[it.startIndex]), let lo = hex(it[it.startIndex + 1]) else {
                    return nil
                }
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else if c == UInt8(ascii: "+") && plusIsSpace {
                bytes.append(0x20)
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    /// Parses a query string; a parameter given twice or badly escaped is a `validation_error`.
    static func query(_ raw: String?) throws(ApiError) -> [String: String] {
        guard let raw, !raw.isEmpty else { return [:] }
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = percentDecode(parts[0], plusIsSpace: true), !key.isEmpty else {
                throw ApiError(.validationError, "The query string is malformed", field: "query")
            }
            guard let value = percentDecode(parts.count > 1 ? parts[1] : "", plusIsSpace: true) else {
                throw ApiError.invalid(key, "is not correctly percent-encoded")
            }
            guard out[key] == nil else { throw ApiError.invalid(key, "is given more than once") }
            out[key] = value
        }
        return out
    }
}
