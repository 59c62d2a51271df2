/// A reference to a secret inside a template string: `{{secret:NAME}}` or `{{secret_id:UUID}}`.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    /// By normalized name (see `SecretName.normalize`).
    case name(String)
    /// By id (lowercased UUID).
    case id(String)

    public var description: String {
        switch self {
        case .name(let n): "{{secret:\(n)}}"
        case .id(let i): "{{secret_id:\(i)}}"
        }
    }
}

/// One secret reference found in a template, with its place in the text.
public struct TemplateOccurrence: Sendable, Equatable {
    public let reference: SecretReference
    /// The UTF-8 byte range of the whole `{{…}}` placeholder.
    public let range: Range<Int>
}

/// Finds secret placeholders in strings.
///
/// Whitespace inside the braces is allowed (`{{ secret: STRIPE_KEY }}`). Placeholders of other kinds
/// (`{{var:…}}`, `{{request_id}}`) are left alone as literal text. A `secret_id` that is not a UUID is reported as
/// malformed so that a typo is caught when the route is saved.
public enum SecretTemplate {
    /// A placeholder that starts like a secret reference but cannot be one.
    public struct Malformed: Error, Equatable, Sendable {
        public let placeholder: String
    }

    /// Every secret placeholder in `text`, in order.
    public static func scan(_ text: String) throws(Malformed) -> [TemplateOccurrence] {
        let b = Array(text.utf8)
        var found: [TemplateOccurrence] = []
        var i = 0
        while i + 1 < b.count {
            guard b[i] == UInt8(ascii: "{"), b[i + 1] == UInt8(ascii: "{") else {
                i += 1
                continue
            }
            guard let close = findClose(b, from: i + 2) else { break }
            let inner = String(decoding: b[(i + 2)..<close], as: UTF8.self)
            if let reference = try parseInner(inner, whole: String(decoding: b[i..<(close + 2)], as: UTF8.self)) {
                found.append(TemplateOccurrence(reference: reference, range: i..<(close + 2)))
            }
            i = close + 2
        }
        return found
    }

    /// Replaces every secret placeholder with the value `resolve` returns for it.
    public static func render(_ text: String, _ resolve: (SecretReference) throws -> String) throws -> String {
        let occurrences = try scan(text)
        guard !occurrences.isEmpty else { return text }
        let b = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var cursor = 0
        for occ in occurrences {
            out.append(contentsOf: b[cursor..<occ.range.lowerBound])
            out.append(contentsOf: Array(try resolve(occ.reference).utf8))
            cursor = occ.range.upperBound
        }
        out.append(contentsOf: b[cursor...])
        return String(decoding: out, as: UTF8.self)
    }

    private static func findClose(_ b: [UInt8], from start: Int) -> Int? {
        var j = start
        while j + 1 < b.count {
            if b[j] == UInt8(ascii: "}"), b[j + 1] == UInt8(ascii: "}") { return j }
            j += 1
        }
        return nil
    }

    private static func parseInner(_ inner: String, whole: String) throws(Malformed) -> SecretReference? {
        let trimmed = inner.trimmingASCIIWhitespace()
        guard let colon = trimmed.firstIndex(of: ":") else { return nil }
        let kind = trimmed[..<colon].trimmingASCIIWhitespace()
        let value = trimmed[trimmed.index(after: colon)...].trimmingASCIIWhitespace()
        switch kind {
        case "secret":
            guard let name = SecretName.normalize(value) else { throw Malformed(placeholder: whole) }
            return .name(name)
        case "secret_id":
            guard Identifier.isUUID(value) else { throw Malformed(placeholder: whole) }
            return .id(value.lowercased())
        default:
            return nil
        }
    }
}

/// Secret names as the secrets page defines them: spaces become underscores and letters are upper-cased,
/// so `"Stripe API Key"` is stored, shown and referenced as `STRIPE_API_KEY`.
public enum SecretName {
    /// The normalized name, or nil when nothing valid remains. Valid names are 1–128 characters of
    /// `A-Z 0-9 _ . -`, so that they can stand inside a `{{secret:…}}` placeholder unambiguously.
    public static func normalize(_ raw: some StringProtocol) -> String? {
        let trimmed = String(raw).trimmingASCIIWhitespace()
        var out = ""
        for scalar in trimmed.unicodeScalars {
            switch scalar {
            case " ": out.append("_")
            case "a"..."z": out.unicodeScalars.append(Unicode.Scalar(scalar.value - 32) ?? scalar)
            case "A"..."Z", "0"..."9", "_", ".", "-": out.unicodeScalars.append(scalar)
            default: return nil
            }
        }
        guard (1...128).contains(out.utf8.count) else { return nil }
        return out
    }
}

extension StringProtocol {
    /// The text without leading and trailing ASCII spaces, tabs and line breaks (by Unicode scalar, so a CR LF pair
    /// or a space that a combining mark follows is removed as well).
    public func trimmingASCIIWhitespace() -> String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
            let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[first...last])
        return String(out)
    }
}
