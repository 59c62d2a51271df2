/// A named environment (production, staging, …) that routes and secrets can carry settings for.
public struct Environment: Sendable, Equatable, Identifiable {
    /// The environment every tenant starts with; it can be neither deleted nor renamed.
    public static let production = "production"
    /// The colour of an environment created without one.
    public static let defaultColor = "#6366f1"

    public var id: String
    /// `^[a-z0-9_-]+$`, at most 63 characters.
    public var name: String
    public var displayName: String
    public var description: String?
    /// `#rrggbb`.
    public var color: String
    public var isDefault: Bool
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String, name: String, displayName: String, description: String? = nil,
        color: String = Environment.defaultColor,
        isDefault: Bool = false, createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.name = name
        self.displayName = displayName
        self.description = description
        self.color = color
        self.isDefault = isDefault
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The display name of an environment created without one: `qa_eu` → `Qa Eu`.
    public static func defaultDisplayName(_ name: String) -> String {
        name.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: " ")
    }

    /// Whether `name` is a valid environment name.
    public static func isValidName(_ name: String) -> Bool {
        let b = Array(name.utf8)
        return (1...63).contains(b.count)
            && b.allSatisfy {
                ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
            }
    }
}
