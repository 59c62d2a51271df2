import KnoxCore

/// Small builders for JSON Schema (OpenAPI 3.1 dialect), so the schema catalogue reads like the wire format.
enum S {
    static func string(
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

    static func integer(_ description: String? = nil, nullable: Bool = false, minimum: Int? = nil, maximum: Int? = nil)
        -> JSONValue
    {
        var o: JSONObject = ["type": nullable ? ["integer", "null"] : "integer"]
        if let minimum { o["minimum"] = .int(minimum) }
        if let maximum { o["maximum"] = .int(maximum) }
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    static func boolean(_ description: String? = nil, nullable: Bool = false) -> JSONValue {
        var o: JSONObject = ["type": nullable ? ["boolean", "null"] : "boolean"]
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    static func time(_ description: String? = nil, nullable: Bool = false) -> JSONValue {
        string(description, format: "date-time", nullable: nullable)
    }

    static func uuid(_ description: String? = nil, nullable: Bool = false) -> JSONValue {
        string(description, format: "uuid", nullable: nullable)
    }

    static func array(_ items: JSONValue, nullable: Bool = false, _ description: String? = nil) -> JSONValue {
        var o: JSONObject = ["type": nullable ? ["array", "null"] : "array", "items": items]
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    /// A free-form object (string values when `stringValues`).
    static func map(_ description: String? = nil, stringValues: Bool = false, nullable: Bool = false) -> JSONValue {
        var o: JSONObject = ["type": nullable ? ["object", "null"] : "object"]
        o["additionalProperties"] = stringValues ? ["type": "string"] : true
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    /// An object with these properties. Responses list every property as required (the server always sends every
    /// key); request bodies name their required ones and refuse unknown properties.
    static func object(
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
