import Foundation
import KnoxCore

/// What the console remembers per data directory, in `<data>/console.json`.
public struct Preferences: Sendable, Equatable {
    public var theme: String?
    public var mode: Mode?
    /// Column widths by `pane.TITLE`.
    public var columns: [String: Int]

    public init(theme: String? = nil, mode: Mode? = nil, columns: [String: Int] = [:]) {
        self.theme = theme
        self.mode = mode
        self.columns = columns
    }

    /// Reads the file; a missing or unreadable file gives the defaults (preferences never stop the console).
    public static func load(_ path: String) -> Preferences {
        guard let data = FileManager.default.contents(atPath: path), let json = try? JSONValue.parse(Array(data)) else {
            return Preferences()
        }
        var columns: [String: Int] = [:]
        for (key, value) in json["columns"]?.objectValue ?? JSONObject() {
            if let width = value.intValue, Column.widthRange.contains(width) { columns[key] = width }
        }
        return Preferences(
            theme: json["theme"]?.stringValue, mode: json["mode"]?.stringValue.flatMap(Mode.init(rawValue:)),
            columns: columns)
    }

    /// Writes the file atomically (a crash never leaves half a file).
    public func save(_ path: String) {
        var o = JSONObject()
        if let theme { o["theme"] = .string(theme) }
        if let mode { o["mode"] = .string(mode.rawValue) }
        if !columns.isEmpty {
            var c = JSONObject()
            for (key, width) in columns.sorted(by: { $0.key < $1.key }) { c[key] = .int(width) }
            o["columns"] = .object(c)
        }
        let tmp = path + ".tmp"
        guard
            FileManager.default.createFile(
                atPath: tmp, contents: Data(JSONValue.object(o).prettySerialized().utf8),
                attributes: [.posixPermissions: 0o600])
        else { return }
        _ = rename(tmp, path)
    }
}
