import KnoxCore

/// The document's `in: query` parameters of an operation, from its `QueryDescriptor`.
enum QueryParameters {
    static func of(_ operation: Operation) -> [(String, JSONValue, String)] {
        operation.query.parameters.map { ($0.name, schema($0.kind), $0.description) }
    }

    /// The schema of a parameter: what `QueryParameter.read` accepts.
    static func schema(_ kind: QueryParameter.Kind) -> JSONValue {
        switch kind {
        case .boolean: S.boolean()
        case .integer(let range): S.integer(minimum: range.lowerBound, maximum: range.upperBound)
        case .oneOf(let values): S.string(values: values)
        case .text(let maxLength): S.string(minLength: 1, maxLength: maxLength)
        case .name: S.string()
        case .time: S.time()
        // A feed's cursor: the position of the last row read (a decimal number).
        case .cursor: S.string(pattern: "^[0-9]{1,18}$")
        }
    }
}
