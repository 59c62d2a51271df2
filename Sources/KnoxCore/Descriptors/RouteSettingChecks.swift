/// The checks of route setting values, shared by the setting descriptors and the other readers that take the same
/// kinds of value (a client's address is an IP range too). Each names the field at fault in its `validation_error`.
public enum RouteSettingChecks {
    /// A refusal for a setting that is accepted by the API's shape but not carried out yet: saying yes would
    /// promise something the data plane does not do.
    public static func notSupported(_ field: String, _ what: String) -> ApiError {
        ApiError.invalid(field, "is not supported yet (\(what)); leave it out or send its default")
    }

    public static func upstreamURL(_ text: String, field: String) throws(ApiError) -> String {
        // Counted as sent, spaces around it included, as the document's maxLength counts.
        guard text.unicodeScalars.count <= 2048 else { throw ApiError.invalid(field, "is longer than 2048 characters") }
        switch UpstreamURL.parse(text.trimmingASCIIWhitespace()) {
        case .success(let url): return url.description
        case .failure(let e): throw ApiError.invalid(field, e.reason)
        }
    }

    public static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 256
            && name.utf8.allSatisfy { c in
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
                    || "!#$%&'*+-.^_`|~".utf8.contains(c)
            }
    }

    public static func headers(_ o: JSONObject, field: String) throws(ApiError) -> JSONObject {
        guard o.count <= 100 else { throw ApiError.invalid(field, "must have at most 100 headers") }
        for (name, value) in o {
            guard isToken(name) else { throw ApiError.invalid("\(field).\(name)", "is not a valid header name") }
            guard !InjectableHeaders.framing.contains(name.lowercased()) else {
                throw ApiError.refused(
                    "\(field).\(name)", "cannot be injected: it controls the connection or message framing",
                    .reservedName)
            }
            guard !InjectableHeaders.isUninjectable(name) else {
                throw ApiError.refused(
                    "\(field).\(name)",
                    "cannot be injected: KnoxCall sets or reads this header itself on the way through",
                    .reservedName)
            }
            guard let text = value.stringValue else {
                throw ApiError.invalid("\(field).\(name)", "must be a string (got \(value.typeName))")
            }
            guard !text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw ApiError.invalid("\(field).\(name)", "must not contain CR, LF or NUL")
            }
            guard text.unicodeScalars.count <= 8192 else {
                throw ApiError.invalid("\(field).\(name)", "must be at most 8192 characters")
            }
        }
        return o
    }

    public static func body(_ o: JSONObject, field: String) throws(ApiError) -> JSONObject {
        guard JSONValue.object(o).serialized().utf8.count <= 65_536 else {
            throw ApiError.invalid(field, "must be at most 64 KiB as JSON")
        }
        return o
    }

    public static func ipList(_ list: [String], field: String) throws(ApiError) -> [String] {
        var out: [String] = []
        for (i, text) in list.enumerated() {
            let canonical = try ipRange(text, field: "\(field)[\(i)]")
            if !out.contains(canonical) { out.append(canonical) }
        }
        return out
    }

    /// Parses one address or CIDR range into canonical text, or explains what is wrong.
    public static func ipRange(_ text: String, field: String) throws(ApiError) -> String {
        switch IPRange.parse(text.trimmingASCIIWhitespace()) {
        case .success(let range): return range.unmapped.description
        case .failure(.malformed):
            throw ApiError.invalid(field, "\"\(text.prefix(64))\" is not an IPv4/IPv6 address or CIDR range")
        case .failure(.hostBitsSet(let suggestion)):
            throw ApiError.refused(
                field, "\"\(text.prefix(64))\" has host bits set beyond its prefix; did you mean \(suggestion)?",
                .notCanonical)
        }
    }

    public static func methods(_ list: [String], field: String) throws(ApiError) -> [String] {
        guard !list.isEmpty else { throw ApiError.invalid(field, "must list at least one method, or be null for all") }
        var out: [String] = []
        for (i, m) in list.enumerated() {
            let upper = m.uppercased()
            guard HTTPMethodName.all.contains(upper) else {
                throw ApiError.invalid(
                    "\(field)[\(i)]", "\"\(m.prefix(16))\" is not one of \(HTTPMethodName.all.joined(separator: ", "))")
            }
            if !out.contains(upper) { out.append(upper) }
        }
        return out
    }

    /// Secret names (normalized, as `{{secret:name}}` finds them) or ids, each once.
    public static func secretNames(_ list: [String], field: String) throws(ApiError) -> [String] {
        var out: [String] = []
        for (i, text) in list.enumerated() {
            let trimmed = text.trimmingASCIIWhitespace()
            let entry: String
            if Identifier.isUUID(trimmed) {
                entry = trimmed.lowercased()
            } else {
                guard let name = SecretName.normalize(trimmed) else {
                    throw ApiError.invalid("\(field)[\(i)]", "must be a secret name or id (got \"\(text.prefix(64))\")")
                }
                entry = name
            }
            if !out.contains(entry) { out.append(entry) }
        }
        return out
    }

    /// The structure of a sample body: same keys and nesting, values replaced by type placeholders, so that no
    /// sample value (which may be sensitive) is kept.
    public static func structure(of o: JSONObject) -> JSONObject {
        func walk(_ v: JSONValue) -> JSONValue {
            switch v {
            case .null: .null
            case .bool: "<boolean>"
            case .number: "<number>"
            case .string: "<string>"
            case .array(let items): .array(items.map(walk))
            case .object(let inner): .object(JSONObject(pairs: inner.map { ($0.key, walk($0.value)) }))
            }
        }
        return JSONObject(pairs: o.map { ($0.key, walk($0.value)) })
    }
}
