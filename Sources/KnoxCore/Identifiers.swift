/// Resource identifiers: random UUIDs in lowercase text, as the reference pages show them.
public enum Identifier {
    /// A new random (version 4) UUID, lowercase.
    public static func uuid() -> String {
        var rng = SystemRandomNumberGenerator()
        return format(prefix: "", using: &rng)
    }

    static let base62 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// `count` random base-62 characters (5.95 bits each), for secrets: key secrets, tokens, codes.
    public static func randomBase62(_ count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return String(decoding: (0..<count).map { _ in base62.randomElement(using: &rng) ?? 65 }, as: UTF8.self)
    }

    /// A request id, `req_` followed by a UUID.
    public static func requestID() -> String {
        var rng = SystemRandomNumberGenerator()
        return format(prefix: "req_", using: &rng)
    }

    /// A time-ordered request id (UUID version 7: milliseconds since the epoch, then random bits) from a given
    /// generator. The data plane passes the request's start time, which is also its log row's `ts`: the request log
    /// finds a row by id through the range of id times each of its chunks records.
    public static func requestID(millis: Int64, using rng: inout some RandomNumberGenerator) -> String {
        let random = rng.next() as UInt64
        let low = rng.next() as UInt64
        // 48 bits of time, version 7, then 12 random bits.
        let high = (UInt64(truncatingIfNeeded: millis) << 16) | 0x7000 | (random & 0x0FFF)
        return render(prefix: "req_", high: high, low: (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `prefix` and a random UUID written straight into one string (the data plane makes one per request).
    private static func format(prefix: StaticString, using rng: inout some RandomNumberGenerator) -> String {
        let high = rng.next() as UInt64
        let low = rng.next() as UInt64
        // Version 4, variant 10.
        return render(
            prefix: prefix, high: (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000,
            low: (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
    }

    private static func render(prefix: StaticString, high: UInt64, low: UInt64) -> String {
        let prefixCount = prefix.utf8CodeUnitCount
        return String(unsafeUninitializedCapacity: prefixCount + 36) { buffer in
            var i = 0
            prefix.withUTF8Buffer { p in
                for byte in p {
                    buffer[i] = byte
                    i += 1
                }
            }
            func put(_ value: UInt64, nibbles: Int) {
                var shift = (nibbles - 1) * 4
                for _ in 0..<nibbles {
                    buffer[i] = hexDigits[Int((value >> UInt64(shift)) & 0xF)]
                    i += 1
                    shift -= 4
                }
            }
            put(high >> 32, nibbles: 8)
            buffer[i] = UInt8(ascii: "-"); i += 1
            put((high >> 16) & 0xFFFF, nibbles: 4)
            buffer[i] = UInt8(ascii: "-"); i += 1
            put(high & 0xFFFF, nibbles: 4)
            buffer[i] = UInt8(ascii: "-"); i += 1
            put(low >> 48, nibbles: 4)
            buffer[i] = UInt8(ascii: "-"); i += 1
            put(low & 0xFFFF_FFFF_FFFF, nibbles: 12)
            return i
        }
    }

    /// Whether `text` is a UUID in 8-4-4-4-12 hex form (either case).
    public static func isUUID(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !(c >= 48 && c <= 57) && !(c >= 97 && c <= 102) && !(c >= 65 && c <= 70) {
                return false
            }
        }
        return true
    }

}

/// Route slugs: `[a-z0-9-]{1,63}`, written once and never changed.
public enum Slug {
    /// Whether `text` is a valid slug.
    public static func isValid(_ text: String) -> Bool {
        let b = Array(text.utf8)
        return (1...63).contains(b.count)
            && b.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "-") }
    }

    /// A slug derived from a display name: lowercase ASCII letters and digits, other runs become `-`,
    /// trimmed to 63 characters. Falls back to `route` when nothing usable is left.
    public static func derive(from name: String) -> String {
        var out = ""
        var pendingDash = false
        for scalar in name.unicodeScalars {
            let lower = scalar.properties.lowercaseMapping
            if lower.count == 1, let c = lower.unicodeScalars.first, c.isASCII,
                (c >= "a" && c <= "z") || (c >= "0" && c <= "9")
            {
                if pendingDash, !out.isEmpty { out.append("-") }
                pendingDash = false
                out.unicodeScalars.append(c)
            } else {
                pendingDash = true
            }
            if out.count >= 63 { break }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "route" : String(out.prefix(63))
    }

    /// `base` with `-n` appended, trimmed so the whole stays within 63 characters.
    public static func numbered(_ base: String, _ n: Int) -> String {
        let suffix = "-\(n)"
        var head = String(base.prefix(63 - suffix.count))
        while head.hasSuffix("-") { head.removeLast() }
        return head + suffix
    }
}
