/// Which side of the product an engine serves: production (Live) or sandbox (Test).
///
/// The two never share a database, a listener or a key.
public enum Mode: String, Sendable, CaseIterable, Codable {
    case live
    case test

    /// True for the sandbox side; stamped on rows and audit details as `sandbox`.
    public var isSandbox: Bool { self == .test }
    /// The database file name inside the data directory.
    public var databaseFileName: String { "\(rawValue).sqlite" }
    /// "Live" or "Test", as the console and messages say it.
    public var displayName: String { self == .live ? "Live" : "Test" }
    /// The other side.
    public var other: Mode { self == .live ? .test : .live }
}
