/// The query parameters of one operation, described once: the handler's reading and checking of them (with the
/// `validation_error` naming the parameter), and the OpenAPI document's `in: query` parameters, both come from it.
public struct QueryDescriptor: Sendable {
    /// How a list is walked: pages with sort keys, a keyset feed, or neither.
    public enum Position: Sendable {
        case none
        case page(sortKeys: [String], defaultSort: String, defaultOrder: SortOrder)
        case feed(maxLimit: Int, defaultLimit: Int)
    }

    public let position: Position
    /// The operation's own parameters (filters), in the order they are checked and documented.
    public let filters: [QueryParameter]

    public init(_ position: Position = .none, filters: [QueryParameter] = []) {
        self.position = position
        self.filters = filters
    }

    public static let none = QueryDescriptor()

    /// An `environment` parameter naming which environment of the resource the operation acts on.
    public static func environment(_ description: String) -> QueryDescriptor {
        QueryDescriptor(filters: [QueryParameter("environment", .name, description)])
    }

    public static func page(
        sort sortKeys: [String], default defaultSort: String, _ defaultOrder: SortOrder,
        filters: [QueryParameter] = []
    ) -> QueryDescriptor {
        QueryDescriptor(
            .page(sortKeys: sortKeys, defaultSort: defaultSort, defaultOrder: defaultOrder), filters: filters)
    }

    public static func feed(maxLimit: Int, filters: [QueryParameter] = []) -> QueryDescriptor {
        QueryDescriptor(.feed(maxLimit: maxLimit, defaultLimit: 100), filters: filters)
    }

    /// Every parameter, the position's first (`page`, `per_page`, `sort`, `order`, or `cursor`, `limit`).
    public var parameters: [QueryParameter] {
        switch position {
        case .none: filters
        case .page(let sortKeys, _, _):
            [
                QueryParameter("page", .integer(1...PageRequest.maxPage), "Page number (default 1)"),
                QueryParameter(
                    "per_page", .integer(1...PageRequest.maxPerPage), "Items per page (default 20, max 100)"),
                QueryParameter("sort", .oneOf(sortKeys), "Field to sort by"),
                QueryParameter("order", .oneOf(["asc", "desc"]), "Sort direction"),
            ] + filters
        case .feed(let maxLimit, let defaultLimit):
            [
                QueryParameter("cursor", .cursor, "Cursor from meta.next_cursor"),
                QueryParameter("limit", .integer(1...maxLimit), "Rows (default \(defaultLimit))"),
            ] + filters
        }
    }

    /// Reads a request's query: an unknown parameter is refused first, then each parameter is checked in order.
    public func read(_ query: [String: String]) throws(ApiError) -> QueryRequest {
        let allowed = Set(parameters.map(\.name))
        for key in query.keys.sorted() where !allowed.contains(key) {
            throw ApiError.invalid(key, "unknown query parameter; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        var request = QueryRequest()
        switch position {
        case .none: break
        case .page(let sortKeys, let defaultSort, let defaultOrder):
            request.page = try PageRequest.parse(
                query, sortable: sortKeys, defaultSort: defaultSort, defaultOrder: defaultOrder)
        case .feed(let maxLimit, let defaultLimit):
            if let raw = query["cursor"] {
                guard let v = Int64(raw), v >= 0 else {
                    throw ApiError.invalid("cursor", "is not a cursor this API issued")
                }
                request.after = v
            }
            request.limit = try QueryParameter.integer(query, "limit", 1...maxLimit) ?? defaultLimit
        }
        for parameter in filters {
            if let raw = query[parameter.name] { request.values[parameter.name] = try parameter.read(raw) }
        }
        return request
    }

    /// The request a caller without a query makes (every default).
    public var defaults: QueryRequest {
        var request = QueryRequest()
        switch position {
        case .none: break
        case .page(_, let defaultSort, let defaultOrder):
            request.page = PageRequest(sort: defaultSort, order: defaultOrder)
        case .feed(_, let defaultLimit): request.limit = defaultLimit
        }
        return request
    }
}

/// One query parameter: its name, the values it takes, and what the document says of it.
public struct QueryParameter: Sendable {
    public enum Kind: Sendable, Equatable {
        case boolean
        case integer(ClosedRange<Int>)
        /// One of `values`, exactly.
        case oneOf([String])
        /// 1 to `maxLength` characters.
        case text(maxLength: Int)
        /// Any text, taken as sent (an environment name the handler looks up).
        case name
        /// An RFC 3339 time.
        case time
        /// A feed position this API issued.
        case cursor
    }

    public let name: String
    public let kind: Kind
    public let description: String

    public init(_ name: String, _ kind: Kind, _ description: String) {
        self.name = name
        self.kind = kind
        self.description = description
    }

    func read(_ raw: String) throws(ApiError) -> QueryValue {
        switch kind {
        case .boolean:
            switch raw.lowercased() {
            case "true", "1": return .bool(true)
            case "false", "0": return .bool(false)
            default: throw ApiError.invalid(name, "must be true or false (got \"\(raw.prefix(40))\")")
            }
        case .integer(let range):
            return .int(try Self.integer([name: raw], name, range) ?? 0)
        case .oneOf(let values):
            guard values.contains(raw) else {
                let listed =
                    values.count == 2 ? "\(values[0]) or \(values[1])" : "one of \(values.joined(separator: ", "))"
                throw ApiError.invalid(name, "must be \(listed) (got \"\(raw.prefix(32))\")")
            }
            return .text(raw)
        case .text(let maxLength):
            guard !raw.isEmpty, raw.unicodeScalars.count <= maxLength else {
                throw ApiError.invalid(name, "must be 1-\(maxLength) characters")
            }
            return .text(raw)
        case .name, .cursor:
            return .text(raw)
        case .time:
            guard let t = Timestamp.parse(raw) else {
                throw ApiError.invalid(
                    name, "must be an RFC 3339 time such as 2026-01-15T09:30:00Z (got \"\(raw.prefix(40))\")")
            }
            return .time(t)
        }
    }

    static func integer(_ query: [String: String], _ key: String, _ range: ClosedRange<Int>) throws(ApiError) -> Int? {
        guard let raw = query[key] else { return nil }
        guard let v = Int(raw), range.contains(v) else {
            throw ApiError.invalid(
                key,
                "must be a whole number from \(range.lowerBound) to \(range.upperBound) (got \"\(raw.prefix(40))\")")
        }
        return v
    }
}

/// A parameter's checked value.
public enum QueryValue: Sendable, Equatable {
    case bool(Bool)
    case int(Int)
    case text(String)
    case time(Int64)
}

/// A query as the handlers take it, checked: the page (or the feed position) and the filters that were given.
public struct QueryRequest: Sendable, Equatable {
    public var page = PageRequest(sort: "created_at", order: .desc)
    /// A feed's position: rows after this sequence number.
    public var after: Int64 = 0
    /// A feed's number of rows.
    public var limit = 100
    /// The filters given, by parameter name (each one checked against its `QueryParameter`).
    public var values: [String: QueryValue] = [:]

    public init() {}

    public func bool(_ name: String) -> Bool? { if case .bool(let v)? = values[name] { v } else { nil } }
    public func int(_ name: String) -> Int? { if case .int(let v)? = values[name] { v } else { nil } }
    public func text(_ name: String) -> String? { if case .text(let v)? = values[name] { v } else { nil } }
    public func time(_ name: String) -> Int64? { if case .time(let v)? = values[name] { v } else { nil } }
}
