/// Sort direction of a list.
public enum SortOrder: String, Sendable {
    case asc
    case desc
}

/// A validated page request: `page`, `per_page`, `sort` and `order`.
public struct PageRequest: Sendable, Equatable {
    public static let defaultPerPage = 20
    public static let maxPerPage = 100
    /// The highest page number a list accepts.
    public static let maxPage = 1_000_000

    public var page: Int
    public var perPage: Int
    public var sort: String
    public var order: SortOrder

    public init(page: Int = 1, perPage: Int = PageRequest.defaultPerPage, sort: String, order: SortOrder) {
        self.page = page
        self.perPage = perPage
        self.sort = sort
        self.order = order
    }

    public var offset: Int { (page - 1) * perPage }

    /// Reads `page`, `per_page`, `sort` and `order` from query parameters. A bad value is a
    /// `validation_error` naming the parameter; `sort` must be one of `sortable`.
    public static func parse(
        _ query: [String: String], sortable: [String], defaultSort: String, defaultOrder: SortOrder
    ) throws(ApiError) -> PageRequest {
        var request = PageRequest(sort: defaultSort, order: defaultOrder)
        if let raw = query["page"] {
            guard let v = Int(raw), v >= 1, v <= PageRequest.maxPage else {
                throw ApiError.invalid(
                    "page", "must be a whole number from 1 to \(PageRequest.maxPage) (got \"\(raw.prefix(40))\")")
            }
            request.page = v
        }
        if let raw = query["per_page"] {
            guard let v = Int(raw), v >= 1, v <= maxPerPage else {
                throw ApiError.invalid(
                    "per_page", "must be a whole number from 1 to \(maxPerPage) (got \"\(raw.prefix(40))\")")
            }
            request.perPage = v
        }
        if let raw = query["sort"] {
            guard sortable.contains(raw) else {
                throw ApiError.invalid(
                    "sort", "must be one of \(sortable.joined(separator: ", ")) (got \"\(raw.prefix(40))\")")
            }
            request.sort = raw
        }
        if let raw = query["order"] {
            guard let order = SortOrder(rawValue: raw) else {
                throw ApiError.invalid("order", "must be asc or desc (got \"\(raw.prefix(40))\")")
            }
            request.order = order
        }
        return request
    }
}

/// One page of a list, with the total across all pages.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int
    public var request: PageRequest

    public init(items: [Item], total: Int, request: PageRequest) {
        self.items = items
        self.total = total
        self.request = request
    }

    public var totalPages: Int { total == 0 ? 0 : (total + request.perPage - 1) / request.perPage }

    public func map<T>(_ transform: (Item) throws -> T) rethrows -> Page<T> {
        Page<T>(items: try items.map(transform), total: total, request: request)
    }
}

/// HTTP methods a route may restrict itself to.
public enum HTTPMethodName {
    /// Methods a route may list in `allowed_methods`. TRACE is served only where it is listed (it reflects the
    /// request, credentials included, back to the caller); CONNECT never (the data plane is not a tunnel).
    public static let all = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
}
