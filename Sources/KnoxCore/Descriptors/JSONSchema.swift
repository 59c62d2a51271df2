/// Small builders for JSON Schema (OpenAPI 3.1 dialect), so the schema catalogue and the resource descriptors read
/// like the wire format (KnoxAPI calls it `S`).
public enum JSONSchema {
    public static func string(
        _ description: String? = nil, format: String? = nil, nullable: Bool = false, values: [String]? = nil,
        minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil
    ) -> JSONValue {
        var o: JSONObject = ["type": nullable ? ["string", "null"] : "string"]
        if let format { o["format"] = .string(format) }
        if let minLength { o["minLength"] = .int(minLength) }
        if let maxLength { o["maxLength"] = .int(maxLength) }
        if let pattern { o["pattern"] = .string(pattern) }
        if let values { o["enum"] = .array(values.map(JSONValue.string) + (nullable ? [.null] : [])) }
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    public static func integer(
        _ description: String? = nil, nullable: Bool = false, minimum: Int? = nil, maximum: Int? = nil
    )
        -> JSONValue
    {
        var o: JSONObject = ["type": nullable ? ["integer", "null"] : "integer"]
        if let minimum { o["minimum"] = .int(minimum) }
        if let maximum { o["maximum"] = .int(maximum) }
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    public static func boolean(_ description: String? = nil, nullable: Bool = false) -> JSONValue {
        var o: JSONObject = ["type": nullable ? ["boolean", "null"] : "boolean"]
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    public static func time(_ description: String? = nil, nullable: Bool = false) -> JSONValue {
        string(description, format: "date-time", nullable: nullable)
    }

    public static func uuid(_ description: String? = nil, nullable: Bool = false) -> JSONValue {
        string(description, format: "uuid", nullable: nullable)
    }

    public static func array(
        _ items: JSONValue, nullable: Bool = false, minItems: Int? = nil, maxItems: Int? = nil,
        _ description: String? = nil
    ) -> JSONValue {
        var o: JSONObject = ["type": nullable ? ["array", "null"] : "array", "items": items]
        if let minItems { o["minItems"] = .int(minItems) }
        if let maxItems { o["maxItems"] = .int(maxItems) }
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    /// `schema`, taking null as well.
    public static func orNull(_ schema: JSONValue) -> JSONValue {
        guard var o = schema.objectValue else { return schema }
        if let value = o["const"], value != .null {
            o["const"] = nil
            o["enum"] = [value, .null]
        }
        if let values = o["enum"]?.arrayValue, !values.contains(.null) { o["enum"] = .array(values + [.null]) }
        switch o["type"] {
        case .string(let type)? where type != "null": o["type"] = [.string(type), "null"]
        case .array(let types)? where !types.contains("null"): o["type"] = .array(types + ["null"])
        default: break
        }
        return .object(o)
    }

    /// A free-form object (string values when `stringValues`).
    public static func map(_ description: String? = nil, stringValues: Bool = false, nullable: Bool = false)
        -> JSONValue
    {
        var o: JSONObject = ["type": nullable ? ["object", "null"] : "object"]
        o["additionalProperties"] = stringValues ? ["type": "string"] : true
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    /// A name-like text field: what `FieldReader.requiredString`/`text` accept, exactly (`TextRule`).
    public static func text(_ description: String? = nil, maxLength: Int, nullable: Bool = false) -> JSONValue {
        string(description, nullable: nullable, maxLength: maxLength, pattern: TextRule.text)
    }

    /// An identifier such as a slug or an environment name: `core` with the ASCII spaces the server removes around it.
    public static func token(
        _ description: String? = nil, _ core: String, maxLength: Int? = nil, nullable: Bool = false
    )
        -> JSONValue
    {
        string(description, nullable: nullable, maxLength: maxLength, pattern: TextRule.token(core))
    }

    /// An environment name (or a reference to one).
    public static func environmentName(_ description: String? = nil) -> JSONValue {
        token(description, "[a-z0-9_-]{1,63}", maxLength: 63)
    }

    /// An IPv4/IPv6 address or CIDR range (a range with host bits set is refused with `error.reason` `not_canonical`).
    public static func ipRange(_ description: String? = nil) -> JSONValue {
        var o = string(description).objectValue ?? [:]
        o["pattern"] = .string(
            TextRule.token(
                "(\(TextRule.ipv4)(/(3[0-2]|[12]?[0-9]))?|\(TextRule.ipv6)(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)"))
        return .object(o)
    }

    /// A setting that only takes "nothing" in this version: an empty array, an empty object or null.
    public static func emptyArray(_ description: String) -> JSONValue {
        ["type": ["array", "object", "null"], "maxItems": 0, "maxProperties": 0, "description": .string(description)]
    }

    /// Headers a route injects: token names (those KnoxCall owns or that frame the message are refused with
    /// `error.reason` `reserved_name`), values without CR, LF or NUL.
    public static func headers() -> JSONValue {
        [
            "type": "object", "maxProperties": 100,
            "propertyNames": ["pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$"],
            "additionalProperties": [
                "type": "string", "maxLength": 8192, "pattern": .string("^[^\\r\\n\\u0000]*\(TextRule.end)"),
            ],
            "description": "Header name → value; values may hold {{secret:NAME}} / {{secret_id:UUID}}",
        ]
    }

    /// A secret name as sent (`SecretName.normalize` accepts it): letters, digits, spaces, `_ . -`, 1-128 long.
    public static func secretName(_ description: String? = nil) -> JSONValue {
        token(description, "[A-Za-z0-9_.-]([A-Za-z0-9 _.-]{0,126}[A-Za-z0-9_.-])?", maxLength: 200)
    }

    /// A secret value: write-only, 1 to 65,536 characters (Unicode scalars, as JSON Schema counts them).
    public static func secretValue() -> JSONValue {
        string("Write-only", minLength: 1, maxLength: 65_536)
    }

    /// A value that is always `value` in this version (the field exists for the SDK's sake).
    public static func only(_ value: JSONValue, _ description: String? = nil) -> JSONValue {
        var o: JSONObject = ["const": value]
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    /// `schema` with more keywords (`not`, `dependentRequired`…).
    public static func with(_ schema: JSONValue, _ keywords: JSONObject) -> JSONValue {
        guard case .object(var o) = schema else { return schema }
        for (k, v) in keywords { o[k] = v }
        return .object(o)
    }

    public static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    /// An object with these properties. Responses list every property as required (the server always sends every
    /// key); request bodies name their required ones and refuse unknown properties.
    public static func object(
        _ properties: KeyValuePairs<String, JSONValue>, required: [String]? = nil, closed: Bool = false,
        minProperties: Int? = nil, _ description: String? = nil
    ) -> JSONValue {
        var props = JSONObject()
        for (k, v) in properties { props[k] = v }
        var o: JSONObject = ["type": "object", "properties": .object(props)]
        let req = required ?? props.keys
        if !req.isEmpty { o["required"] = .array(req.map(JSONValue.string)) }
        if closed { o["additionalProperties"] = false }
        if let minProperties { o["minProperties"] = .int(minProperties) }
        if let description { o["description"] = .string(description) }
        return .object(o)
    }
}

/// JSON Schema patterns (ECMA-262; Python's `re` reads them the same) for the server's text rules, built from the
/// same character lists the server checks with, so the document and the server cannot drift apart.
public enum TextRule {
    /// The ASCII spaces, tabs and line breaks removed around a value (`trimmingASCIIWhitespace`).
    public static let around = "[ \\t\\n\\r]*"

    public static func escaped(_ v: UInt32) -> String {
        let hex = String(v, radix: 16, uppercase: true)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `FieldReader.invisibleFormatting` as character-class ranges.
    public static let invisible = FieldReader.invisibleFormatting.map { r in
        r.lowerBound == r.upperBound ? escaped(r.lowerBound) : escaped(r.lowerBound) + "-" + escaped(r.upperBound)
    }.joined()

    /// Free text: something left after trimming, no control character but tab, nothing invisible.
    public static let text: String = {
        let edge = "[^\(escaped(0))-\(escaped(0x20))\(invisible)]"
        let inner = "[^\(escaped(0))-\(escaped(8))\(escaped(0x0A))-\(escaped(0x1F))\(invisible)]"
        return "^\(around)\(edge)(\(inner)*\(edge))?\(around)$"
    }()

    /// The very end of the value. `$` would do in ECMA-262, but Python's `re` (which schemathesis and most
    /// validators use) also lets `$` match before a final line feed; this reads the same in both.
    public static let end = "(?![\\s\\S])"

    public static func token(_ core: String) -> String { "^\(around)\(core)\(around)$" }

    public static func caseless(_ word: String) -> String {
        word.map { c in c.isLetter ? "[\(c.uppercased())\(c.lowercased())]" : String(c) }.joined()
    }

    /// 1-65535, leading zeros allowed up to five digits (`UpstreamURL.parse`).
    public static let port =
        "(0{0,4}[1-9]|0{0,3}[1-9][0-9]|0{0,2}[1-9][0-9]{2}|0?[1-9][0-9]{3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
    /// A DNS name as `UpstreamURL.isValidHostname` takes it (its 253-octet total is stated in prose only).
    public static let hostname: String = {
        let label = "[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
        return "\(label)(\\.\(label))*\\.?"
    }()
    /// A path of RFC 3986 characters (`UpstreamURL.firstInvalidPathByte`).
    public static let urlPath = "(/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?"
    /// What `UpstreamURL.parse` accepts (a target base URL): http(s), a host, a port, a path; no credentials, query
    /// or fragment.
    public static let httpURL =
        "\(caseless("http"))[Ss]?://(\(hostname)|\\[\(ipv6)\\])(:\(port))?\(urlPath)"
    /// An OAuth redirect URI: https anywhere, http only to a loopback host.
    public static let redirectURI =
        "^(\(caseless("https"))://(\(hostname)|\\[\(ipv6)\\])|\(caseless("http"))://(127\\.0\\.0\\.1|\\[::1\\]|\(caseless("localhost"))))(:\(port))?\(urlPath)\(end)"

    public static let ipv4Octet = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    public static let ipv4 = "\(ipv4Octet)(\\.\(ipv4Octet)){3}"
    /// RFC 3986's `IPv6address` rule (RFC 4291 text forms, the embedded-IPv4 ones included), without a zone.
    public static let ipv6: String = {
        let h = "[0-9a-fA-F]{1,4}"
        let ls32 = "(\(h):\(h)|\(ipv4))"
        func left(_ most: Int) -> String { most < 0 ? "" : "((\(h):){0,\(most)}\(h))?" }
        let forms = [
            "(\(h):){6}\(ls32)", "::(\(h):){5}\(ls32)", "(\(h))?::(\(h):){4}\(ls32)", "\(left(1))::(\(h):){3}\(ls32)",
            "\(left(2))::(\(h):){2}\(ls32)", "\(left(3))::\(h):\(ls32)", "\(left(4))::\(ls32)", "\(left(5))::\(h)",
            "\(left(6))::",
        ]
        return "(" + forms.joined(separator: "|") + ")"
    }()
}
