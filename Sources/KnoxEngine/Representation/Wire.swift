import KnoxCore

/// The wire format of every resource: field names and order as the reference pages and the SDK read them.
///
/// Timestamps are RFC 3339 with milliseconds; optional values are `null`, never omitted, so that clients can rely on
/// every key being present.
public enum Wire {
    static func time(_ millis: Int64?) -> JSONValue { millis.map { .string(Timestamp.format(millis: $0)) } ?? .null }
    static func strings(_ values: [String]?) -> JSONValue { values.map { .array($0.map(JSONValue.string)) } ?? .null }
    static func object(_ value: JSONObject?) -> JSONValue { value.map(JSONValue.object) ?? .null }
    static func objects(_ values: [JSONObject]?) -> JSONValue {
        values.map { .array($0.map(JSONValue.object)) } ?? .null
    }
}
