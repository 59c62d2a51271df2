/// Resource identifiers: random UUIDs in lowercase text, as the reference pages show them.
public enum Identifier {
    /// A new random (version 4) UUID, lowercase.
    public static func uuid() -> String {
        var rng = SystemRandomNumberGenerator()
        let high = rng.next() as UInt64
        let low = rng.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> (8 * i))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (8 * i))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    /// A request id, `req_` followed by a UUID.
    public static func requestID() -> String { "req_" + uuid() }

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

    static func format(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef")
        var out = ""
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append("-") }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return out
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
