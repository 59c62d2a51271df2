import KnoxCore

/// The text parsers of the management API and the data plane.
enum TextFuzz {
    /// A parsed document serializes to text that parses back to the same value; anything refused says where.
    static func json(_ input: [UInt8]) {
        do {
            let value = try JSONValue.parse(input)
            let again = try? JSONValue.parse(value.serialized())
            FuzzCheck(again == value, "a parsed JSON value does not survive serialization")
            let pretty = try? JSONValue.parse(value.prettySerialized())
            FuzzCheck(pretty == value, "a parsed JSON value does not survive pretty serialization")
        } catch {
            FuzzCheck(error.offset >= 0 && error.offset <= input.count, "a JSON error offset outside the input")
        }
    }

    /// Placeholders found lie inside the text, in order, each from `{{` to `}}`; rendering replaces exactly them.
    static func template(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        let bytes = Array(text.utf8)
        guard let found = try? SecretTemplate.scan(text) else { return }
        var last = 0
        for occurrence in found {
            let r = occurrence.range
            FuzzCheck(
                r.lowerBound >= last && r.upperBound <= bytes.count && r.count >= 4, "a placeholder range out of order")
            FuzzCheck(bytes[r.lowerBound] == 123 && bytes[r.lowerBound + 1] == 123, "a placeholder not opened by {{")
            FuzzCheck(
                bytes[r.upperBound - 1] == 125 && bytes[r.upperBound - 2] == 125, "a placeholder not closed by }}")
            last = r.upperBound
        }
        let rendered = try? SecretTemplate.render(text) { _ in "" }
        let removed = found.reduce(0) { $0 + $1.range.count }
        FuzzCheck(rendered?.utf8.count == bytes.count - removed, "rendering changed more than the placeholders")
    }

    /// A range parses back from its canonical text to itself and holds its own network; an address likewise; a
    /// suggested network for a range with host bits set is itself a valid range.
    static func cidr(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        if let address = IPAddress(text) {
            FuzzCheck(IPAddress(address.description) == address, "an address does not survive its canonical text")
            FuzzCheck(
                address.bytes.count == 4 || address.bytes.count == 16, "an address of \(address.bytes.count) bytes")
        }
        switch IPRange.parse(text) {
        case .success(let range):
            let again = IPRange.parse(range.description)
            FuzzCheck(again == .success(range), "a range does not survive its canonical text")
            FuzzCheck(range.contains(range.network), "a range that does not hold its own network")
            FuzzCheck(range.unmapped.contains(range.network.unmapped), "an unmapped range that lost its network")
        case .failure(.hostBitsSet(let suggestion)):
            guard case .success = IPRange.parse(suggestion) else {
                FuzzCheck(false, "a suggested network that does not parse")
                return
            }
        case .failure(.malformed):
            break
        }
    }

    /// A path the rules let through holds no dot segment and no NUL at any depth of percent-decoding they look
    /// through; allowing encoded slashes never refuses a path that is fine without them.
    static func path(_ input: [UInt8]) {
        // A request target reaches these rules only as visible ASCII (the head parser refuses anything else).
        guard input.allSatisfy({ $0 > 32 && $0 < 127 }) else { return }
        let strict = input.withUnsafeBytes { RequestPath.problem(in: $0, allowEncodedSlashes: false) }
        let lenient = input.withUnsafeBytes { RequestPath.problem(in: $0, allowEncodedSlashes: true) }
        let text = String(decoding: input, as: UTF8.self)
        FuzzCheck(RequestPath.problem(in: text, allowEncodedSlashes: false) == strict, "text and bytes disagree")
        if strict == nil { FuzzCheck(lenient == nil, "allowing encoded slashes refused a path that passes without") }
        guard lenient == nil else { return }
        var level = Array(input.prefix { $0 != UInt8(ascii: "?") })
        for _ in 0...3 {
            FuzzCheck(!level.contains(0), "a NUL let through")
            for segment in level.split(omittingEmptySubsequences: false, whereSeparator: { $0 == 47 || $0 == 92 }) {
                let name = segment.prefix { $0 != UInt8(ascii: ";") }
                FuzzCheck(
                    !(name.count == 1 || name.count == 2) || !name.allSatisfy({ $0 == 46 }), "a dot segment let through"
                )
            }
            if strict == nil {
                FuzzCheck(!level.contains(92), "a backslash let through on a strict route")
            }
            level = percentDecoded(level)
        }
    }

    /// `%XX` decoded once (written here independently of `RequestPath`, as the oracle).
    static func percentDecoded(_ bytes: [UInt8]) -> [UInt8] {
        func hex(_ c: UInt8) -> UInt8? {
            if c >= 48 && c <= 57 { return c - 48 }
            let l = c | 0x20
            return l >= 97 && l <= 102 ? l - 87 : nil
        }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == 37, i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
