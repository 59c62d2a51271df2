/// The rules a caller's request path must keep before it is appended to a route's base path: no dot segments, in any
/// percent-encoding (an upstream that resolves them would serve a path outside the route's base, with the route's
/// credential attached), no encoded NUL, and no encoded slashes or backslashes unless the route allows them.
///
/// Like Envoy's `normalize_path` and nginx's `merge_slashes`, but refusing instead of rewriting: a rewritten path is
/// not the one the caller signed or meant.
public enum RequestPath {
    public enum Problem: Equatable, Sendable {
        /// A `.` or `..` segment (or `..;params`), as sent or once decoded (`%2e%2e`, `..%2f`, `%252e%252e`).
        case dotSegment
        /// `%2F` or `%5C` (also doubly encoded), or a literal backslash, on a route that does not allow them.
        case encodedSlash
        /// `%00`, as sent or once decoded.
        case encodedNul
        /// Still percent-encoded after three rounds of decoding, a non-standard `%uXXXX` escape, or an overlong
        /// UTF-8 sequence (`%c0%ae`): forms some servers decode to `.` or `/` in ways this check cannot follow.
        case obscured

        /// What the caller is told.
        public var message: String {
            switch self {
            case .dotSegment:
                "The path holds a dot segment (. or .., possibly percent-encoded); send the path as it is meant"
            case .encodedSlash:
                "The path holds an encoded slash or a backslash (%2F, %5C, \\), which this route does not allow"
            case .encodedNul: "The path holds an encoded NUL (%00)"
            case .obscured:
                "The path is encoded in a way that hides what it is (nested percent-encoding, %u escapes or overlong UTF-8)"
            }
        }
    }

    /// How many rounds of percent-decoding are looked through (`%25252e` is three).
    static let decodingRounds = 3

    /// The first problem in `target`'s path (the part before `?`), or nil when it may be forwarded.
    public static func problem(in target: String, allowEncodedSlashes: Bool) -> Problem? {
        var target = target
        return target.withUTF8 { problem(in: UnsafeRawBufferPointer($0), allowEncodedSlashes: allowEncodedSlashes) }
    }

    public static func problem(in target: UnsafeRawBufferPointer, allowEncodedSlashes: Bool) -> Problem? {
        var end = 0
        var suspicious = false
        var escaped = false
        while end < target.count, target[end] != UInt8(ascii: "?") {
            let c = target[end]
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "\\") { suspicious = true }
            if c == UInt8(ascii: "%") { escaped = true }
            end += 1
        }
        // Most paths have none of these bytes: nothing to decode, nothing to split.
        guard suspicious || escaped else { return nil }
        let path = UnsafeRawBufferPointer(rebasing: target[0..<end])
        // The path as sent is checked in place; only a path with escapes is decoded (copied) for the next rounds.
        if let problem = check(path, allowEncodedSlashes: allowEncodedSlashes) { return problem }
        guard escaped else { return nil }
        var level = Array(path)
        for round in 1...decodingRounds {
            let decoded = decodeOnce(level)
            if decoded == level { return nil }
            level = decoded
            if let problem = check(level, allowEncodedSlashes: allowEncodedSlashes) { return problem }
            if round == decodingRounds && hasEscape(level, of: nil) { return .obscured }
        }
        return nil
    }

    /// One level of the path: its segments (split at `/` and `\`), its escapes of a slash or NUL, and forms that
    /// would hide either.
    private static func check<C: RandomAccessCollection>(_ path: C, allowEncodedSlashes: Bool) -> Problem?
    where C.Element == UInt8, C.Index == Int {
        if path.contains(0) { return .encodedNul }
        if !allowEncodedSlashes {
            if path.contains(UInt8(ascii: "\\")) { return .encodedSlash }
            if hasEscape(path, of: [0x2F, 0x5C]) { return .encodedSlash }
        }
        if hasEscape(path, of: [0x00]) { return .encodedNul }
        if hasUnicodeEscape(path) || hasOverlongUTF8(path) { return .obscured }
        var start = path.startIndex
        for i in path.startIndex...path.endIndex {
            guard i == path.endIndex || path[i] == UInt8(ascii: "/") || path[i] == UInt8(ascii: "\\") else { continue }
            // A segment's parameters (`..;x`) do not make it something else: servlet containers read `..;` as `..`.
            var segmentEnd = start
            while segmentEnd < i, path[segmentEnd] != UInt8(ascii: ";") { segmentEnd += 1 }
            let length = segmentEnd - start
            if (length == 1 || length == 2) && path[start..<segmentEnd].allSatisfy({ $0 == UInt8(ascii: ".") }) {
                return .dotSegment
            }
            start = i + 1
        }
        return nil
    }

    /// IIS's `%uXXXX`.
    private static func hasUnicodeEscape<C: RandomAccessCollection>(_ path: C) -> Bool
    where C.Element == UInt8, C.Index == Int {
        var i = path.startIndex
        while i + 5 < path.endIndex {
            if path[i] == UInt8(ascii: "%"), path[i + 1] | 0x20 == UInt8(ascii: "u"),
                path[(i + 2)...(i + 5)].allSatisfy({ hex($0) != nil })
            {
                return true
            }
            i += 1
        }
        return false
    }

    /// Bytes that never start valid UTF-8 (0xC0, 0xC1: two-byte overlongs of ASCII, `%c0%ae` for `.`) or a three-byte
    /// overlong (0xE0 then 0x80–0x9F).
    private static func hasOverlongUTF8<C: RandomAccessCollection>(_ path: C) -> Bool
    where C.Element == UInt8, C.Index == Int {
        for i in path.indices {
            let c = path[i]
            if c == 0xC0 || c == 0xC1 { return true }
            if c == 0xE0, i + 1 < path.endIndex, path[i + 1] & 0xE0 == 0x80 { return true }
        }
        return false
    }

    /// Whether `path` holds `%XX` for one of `bytes` (hex digits in either case), or for any byte when `bytes` is nil.
    private static func hasEscape<C: RandomAccessCollection>(_ path: C, of bytes: [UInt8]?) -> Bool
    where C.Element == UInt8, C.Index == Int {
        var i = path.startIndex
        while i + 2 < path.endIndex {
            if path[i] == UInt8(ascii: "%"), let high = hex(path[i + 1]), let low = hex(path[i + 2]),
                bytes?.contains(high << 4 | low) ?? true
            {
                return true
            }
            i += 1
        }
        return false
    }

    /// `%XX` replaced by its byte; anything else (a `%` without two hex digits included) kept as it is.
    private static func decodeOnce(_ path: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.count)
        var i = 0
        while i < path.count {
            if path[i] == UInt8(ascii: "%"), i + 2 < path.count, let high = hex(path[i + 1]), let low = hex(path[i + 2])
            {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(path[i])
                i += 1
            }
        }
        return out
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
