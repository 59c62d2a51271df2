import KnoxCore
import KnoxDataPlane

/// Puts secret values into a request: the route's injected headers, its `inject_body_json`, and placeholders in the
/// caller's own body. Plaintext exists only inside these functions and the bytes they return.
struct Injector {
    let opener: SecretOpener
    let snapshot: ConfigSnapshot
    let plan: RoutePlan

    /// The secret a placeholder stands for in this route's environment, prepared for the opener. `callerWrote` says
    /// who wrote the placeholder: in the caller's body it may name only the secrets the route lists in
    /// `callable_secrets`, and every other reference, to a secret that exists or not, gets the same answer (nothing
    /// to learn about other secrets); in the route's own settings it was checked when the route was saved.
    func resolve(_ reference: SecretReference, callerWrote: Bool) throws(Refusal) -> PreparedSecret {
        if callerWrote {
            guard let secret = snapshot.secret(reference), plan.callableSecretIds.contains(secret.id) else {
                throw Refusal(
                    .secretNotFound,
                    "The request body refers to a secret this route does not let callers use: \(reference)")
            }
        }
        guard let prepared = snapshot.preparedSecret(reference, environment: plan.environment) else {
            throw Refusal(
                .secretUnusable,
                callerWrote
                    ? "The request body refers to a secret that has no value in \(plan.environment): \(reference)"
                    : "The route refers to a secret with no value in \(plan.environment): \(reference)")
        }
        return prepared
    }

    /// One injected header's value, for a header that is not written in place (it names a secret the snapshot could
    /// not prepare). A secret holding CR, LF or NUL is refused, naming the secret, never its value.
    func header(_ header: InjectedHeader) throws(Refusal) -> String {
        guard let pieces = header.pieces else {
            throw Refusal(.secretUnusable, "Header \(header.name) holds a malformed placeholder")
        }
        if header.isStatic { return header.template }
        var out = ""
        for piece in pieces {
            let prepared: PreparedSecret
            switch piece {
            case .text(let text):
                out += text
                continue
            case .sealed(_, let p): prepared = p
            case .secret(let reference): prepared = try resolve(reference, callerWrote: false)
            }
            out += try opener.withValue(prepared, for: .header(header.name)) { String(decoding: $0, as: UTF8.self) }
        }
        return out
    }

    /// Writes `header`'s value into `out`, exactly its `inPlaceLength` bytes, opening each secret straight into its
    /// place: the plaintext goes nowhere else, not even a string. The same checks, in the same order, as
    /// `header(_:)`; on a refusal `out` is zeroed. Static, with only the opener: the head writer holds that rather
    /// than a whole injector.
    static func writeValue(
        _ header: InjectedHeader, opener: SecretOpener, into out: UnsafeMutableRawBufferPointer
    ) throws(Refusal) {
        guard let pieces = header.pieces, header.inPlaceLength == out.count else {
            out.initializeMemory(as: UInt8.self, repeating: 0)
            throw Refusal(.secretUnusable, "Header \(header.name) holds a malformed placeholder")
        }
        var at = 0
        do throws(Refusal) {
            for piece in pieces {
                switch piece {
                case .text(let text):
                    let n = text.utf8.count
                    var text = text
                    text.withUTF8 {
                        UnsafeMutableRawBufferPointer(rebasing: out[at..<at + n]).copyMemory(
                            from: UnsafeRawBufferPointer($0))
                    }
                    at += n
                case .sealed(_, let prepared):
                    // `inPlaceLength` counted this length: it is not nil here.
                    let n = prepared.valueLength ?? 0
                    try opener.open(
                        prepared, for: .header(header.name),
                        into: UnsafeMutableRawBufferPointer(rebasing: out[at..<at + n]))
                    at += n
                case .secret:
                    // `inPlaceLength` is nil for such a header: it never comes here.
                    throw Refusal(.secretUnusable, "Header \(header.name) holds a malformed placeholder")
                }
            }
        } catch {
            out.initializeMemory(as: UInt8.self, repeating: 0)
            throw error
        }
    }

    /// The body to send upstream: the caller's placeholders replaced (JSON, form or text bodies), then the route's
    /// `inject_body_json` merged in. Returns nil when nothing changed.
    func body(_ body: [UInt8], contentType: String?) throws(Refusal) -> [UInt8]? {
        let kind = BodyKind(contentType: contentType)
        let mentionsPlaceholder =
            Self.contains(body, "{{") || Self.contains(body, "%7B%7B") || Self.contains(body, "%7b%7b")
        if plan.injectBody == nil && !mentionsPlaceholder { return nil }
        if let injected = plan.injectBody {
            var object: JSONObject
            let blank = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
            if blank {
                object = JSONObject()
            } else {
                guard kind == .json || kind == .unknown, case .object(let parsed)? = try? JSONValue.parse(body) else {
                    throw Refusal(
                        .validationError,
                        "This route merges inject_body_json into a JSON object body; the request body is not a JSON object"
                    )
                }
                object = mentionsPlaceholder ? try renderJSON(.object(parsed)).objectValue ?? parsed : parsed
            }
            let rendered = try renderJSON(.object(injected), callerWrote: false)
            object = Self.merge(object, rendered.objectValue ?? JSONObject())
            return JSONValue.object(object).serializedBytes()
        }
        switch kind {
        case .json:
            if let parsed = try? JSONValue.parse(body) { return try renderJSON(parsed).serializedBytes() }
            return try renderText(body)
        case .form: return try renderForm(body)
        case .text: return try renderText(body)
        case .unknown: return nil
        }
    }

    private func render(_ text: String, callerWrote: Bool) throws(Refusal) -> String {
        let occurrences: [TemplateOccurrence]
        do {
            occurrences = try SecretTemplate.scan(text)
        } catch {
            if callerWrote {
                throw Refusal(
                    .secretNotFound, "The request body holds a malformed placeholder: \(error.placeholder.prefix(80))")
            }
            throw Refusal(.secretUnusable, "The route holds a malformed placeholder")
        }
        guard !occurrences.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var cursor = 0
        for occurrence in occurrences {
            out += bytes[cursor..<occurrence.range.lowerBound]
            let prepared = try resolve(occurrence.reference, callerWrote: callerWrote)
            try opener.withValue(prepared, for: .body) { (value) throws(Refusal) in out.append(contentsOf: value) }
            cursor = occurrence.range.upperBound
        }
        out += bytes[cursor...]
        return String(decoding: out, as: UTF8.self)
    }

    private func renderJSON(_ value: JSONValue, callerWrote: Bool = true) throws(Refusal) -> JSONValue {
        switch value {
        case .string(let s): return s.contains("{{") ? .string(try render(s, callerWrote: callerWrote)) : value
        case .array(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try renderJSON(item, callerWrote: callerWrote)) }
            return .array(out)
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o { out[k] = try renderJSON(v, callerWrote: callerWrote) }
            return .object(out)
        default: return value
        }
    }

    private func renderText(_ body: [UInt8]) throws(Refusal) -> [UInt8]? {
        guard let text = String(validating: body, as: UTF8.self), text.contains("{{") else { return nil }
        return Array(try render(text, callerWrote: true).utf8)
    }

    private func renderForm(_ body: [UInt8]) throws(Refusal) -> [UInt8]? {
        guard let text = String(validating: body, as: UTF8.self) else { return nil }
        var changed = false
        var pairs: [String] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let value = FormEncoding.decode(parts[1]), value.contains("{{") else {
                pairs.append(String(pair))
                continue
            }
            changed = true
            pairs.append("\(parts[0])=\(FormEncoding.encode(try render(value, callerWrote: true)))")
        }
        return changed ? Array(pairs.joined(separator: "&").utf8) : nil
    }

    /// `base` with `overlay` merged in; objects merge recursively, everything else in `overlay` wins.
    static func merge(_ base: JSONObject, _ overlay: JSONObject) -> JSONObject {
        var out = base
        for (key, value) in overlay {
            if case .object(let inner)? = out[key], case .object(let add) = value {
                out[key] = .object(merge(inner, add))
            } else {
                out[key] = value
            }
        }
        return out
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        var i = 0
        while i <= haystack.count - n.count {
            if haystack[i] == n[0] {
                var match = true
                for j in 1..<n.count where haystack[i + j] != n[j] {
                    match = false
                    break
                }
                if match { return true }
            }
            i += 1
        }
        return false
    }
}

/// How a body is treated for placeholders, from its `Content-Type`.
enum BodyKind: Equatable {
    case json, form, text, unknown

    init(contentType: String?) {
        guard let type = contentType?.lowercased() else {
            self = .unknown
            return
        }
        if type.hasPrefix("application/json") || type.contains("+json") {
            self = .json
        } else if type.hasPrefix("application/x-www-form-urlencoded") {
            self = .form
        } else if type.hasPrefix("text/") {
            self = .text
        } else {
            self = .unknown
        }
    }

    /// Whether bodies of this kind are held (up to 1 MiB) to look for placeholders.
    var isScanned: Bool { self != .unknown }
}

/// `application/x-www-form-urlencoded` values.
enum FormEncoding {
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var it = Array(text.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if c == UInt8(ascii: "%"), it.count >= 2,
                let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x20: out += "+"
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (byte < 16 ? "0" + hex : hex)
            }
        }
        return out
    }
}
