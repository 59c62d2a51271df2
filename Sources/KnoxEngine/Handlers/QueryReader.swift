import KnoxCore

/// Query parameters of a list request, checked against the names the endpoint knows.
struct QueryReader {
    let query: [String: String]

    init(_ query: [String: String], allowed: Set<String>) throws(ApiError) {
        for key in query.keys.sorted() where !allowed.contains(key) {
            throw ApiError.invalid(key, "unknown query parameter; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        self.query = query
    }

    func bool(_ key: String) throws(ApiError) -> Bool? {
        guard let raw = query[key] else { return nil }
        switch raw.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw ApiError.invalid(key, "must be true or false (got \"\(raw.prefix(40))\")")
        }
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ApiError) -> Int? {
        guard let raw = query[key] else { return nil }
        guard let v = Int(raw), range.contains(v) else {
            throw ApiError.invalid(
                key,
                "must be a whole number from \(range.lowerBound) to \(range.upperBound) (got \"\(raw.prefix(40))\")")
        }
        return v
    }

    func time(_ key: String) throws(ApiError) -> Int64? {
        guard let raw = query[key] else { return nil }
        guard let t = Timestamp.parse(raw) else {
            throw ApiError.invalid(
                key, "must be an RFC 3339 time such as 2026-01-15T09:30:00Z (got \"\(raw.prefix(40))\")")
        }
        return t
    }

    func text(_ key: String, maxLength: Int = 200) throws(ApiError) -> String? {
        guard let raw = query[key] else { return nil }
        guard !raw.isEmpty, raw.unicodeScalars.count <= maxLength else {
            throw ApiError.invalid(key, "must be 1-\(maxLength) characters")
        }
        return raw
    }
}

/// The page parameters every paginated list accepts.
let pageParameters: Set<String> = ["page", "per_page", "sort", "order"]
