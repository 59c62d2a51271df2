import Logging

enum Logging {
    /// A logger to standard error. Messages are constant; details travel as metadata, and no secret ever does.
    static func make(label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }
}
