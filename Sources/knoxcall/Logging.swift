import Foundation
import KnoxCore
import Logging

enum Logging {
    /// A logger to standard error. Messages are constant; details travel as metadata, and no secret ever does.
    static func make(label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }
}

extension Logging {
    /// A logger that appends to a file (the console owns the terminal). Messages are constant; no secret goes in.
    static func toFile(label: String, path: String, level: Logger.Level = .info) -> Logger {
        let handle: FileHandle? = {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            let h = FileHandle(forWritingAtPath: path)
            h?.seekToEndOfFile()
            return h
        }()
        var logger = Logger(label: label) { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handle.map { FileLogHandler(label: label, handle: $0, level: level) } ?? handler
        }
        logger.logLevel = level
        return logger
    }
}

/// Appends log lines to a file.
struct FileLogHandler: LogHandler {
    let label: String
    let handle: FileHandle
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, handle: FileHandle, level: Logger.Level) {
        self.label = label
        self.handle = handle
        logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let details = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let line =
            "\(Timestamp.format(millis: Int64(Date().timeIntervalSince1970 * 1000))) \(event.level) \(label): \(event.message) \(details)\n"
        handle.write(Data(line.utf8))
    }
}
