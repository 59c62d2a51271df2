import KnoxCore
import KnoxStore
import Logging
import ServiceLifecycle

/// Batches request-log rows from the engines' sinks into their databases (one transaction per batch), trims rows
/// older than the retention period, and reports dropped rows.
public struct RequestLogWriter: Service {
    let engines: [Engine]
    let interval: Duration
    let logger: Logger

    /// `interval`: the pause between batches. Every batch is one commit, and every commit an fsync (FULL); with one
    /// row per request, at 10 ms the writer spent ~22% of the event loop's CPU per request on its core, at 50 ms ~17%
    /// (fewer fsyncs, and the pages at the tables' right edges written once per batch rather than five times). Rows
    /// still show in the API well within its 1 s.
    public init(engines: [Engine], interval: Duration = .milliseconds(50), logger: Logger) {
        self.engines = engines
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        var lastTrim: [Mode: Int64] = [:]
        var reportedDrops: [Mode: Int] = [:]
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for engine in engines {
                await engine.flushRequestLog(logger: logger)
                let now = engine.clock.nowMillis()
                if now - (lastTrim[engine.mode] ?? 0) > 3_600_000 {
                    lastTrim[engine.mode] = now
                    await engine.trimRequestLog(logger: logger)
                }
                reportedDrops[engine.mode] = Self.reportDrops(
                    of: engine, reported: reportedDrops[engine.mode, default: 0], logger: logger)
            }
            try? await Task.sleep(for: interval)
        }
        for engine in engines { await engine.flushRequestLog(logger: logger) }
    }

    /// Warns when `engine`'s sink dropped rows since the last report (`reported`, the total then), with the mode, the
    /// new total and how many since; returns the total now reported.
    static func reportDrops(of engine: Engine, reported: Int, logger: Logger) -> Int {
        let dropped = engine.requestLog.dropped
        guard dropped > reported else { return reported }
        logger.warning(
            "request log rows dropped: buffer full",
            metadata: [
                "mode": "\(engine.mode.rawValue)", "dropped.total": "\(dropped)", "dropped.new": "\(dropped - reported)",
            ])
        return dropped
    }
}

extension Engine {
    /// Writes what the sink holds. On a busy database the rows stay pending and are retried on the next call.
    public func flushRequestLog(logger: Logger? = nil) async {
        var batch = pendingLogRows.take()
        while true {
            requestLog.drain(into: &batch, limit: 5000)
            guard !batch.isEmpty else { return }
            let rows = batch
            do {
                // Row ids are only needed by subscribers (the console's log pane); without one, no rows are built.
                let numbered = requestLog.hasSubscribers
                let (stored, unreadable) = try await store.write { access -> ([RequestLogEntry], Int) in
                    // Data-plane keys' last use comes from their log rows, so the request path takes no lock for it.
                    var used = KeyLastUse()
                    let written = try access.insert(records: rows) { used.note($0) }
                    let times = used.times()
                    if !times.isEmpty { try access.touchApiKeys(times) }
                    guard numbered else { return ([], rows.count - written.count) }
                    let last = try access.lastRequestLogSeq()
                    let first = last - Int64(written.count) + 1
                    return (written.enumerated().compactMap { i, record in record.entry(seq: first + Int64(i)) }, rows.count - written.count)
                }
                for record in rows { record.release() }
                if unreadable > 0 {
                    requestLog.countDropped(unreadable)
                    logger?.error("request log rows unreadable, not stored", metadata: ["mode": "\(mode.rawValue)", "rows": "\(unreadable)"])
                }
                if numbered { requestLog.publish(stored) }
            } catch {
                // Past 100,000 waiting rows the oldest go, counted as dropped (like a full ring).
                let lost = pendingLogRows.keep(rows, limit: 100_000)
                if lost > 0 { requestLog.countDropped(lost) }
                // Said once per spell of failures (the writer retries every 50 ms), and again when it recovers.
                if logWriteFailing.exchange(true, ordering: .relaxed) == false {
                    logger?.warning(
                        "request log write failed; rows are kept and retried",
                        metadata: ["mode": "\(mode.rawValue)", "reason": "\((error as? StoreUnavailable)?.reason ?? "\(type(of: error))")"])
                }
                return
            }
            if logWriteFailing.exchange(false, ordering: .relaxed) {
                logger?.notice("request log writes work again", metadata: ["mode": "\(mode.rawValue)"])
            }
            batch = []
            if requestLog.isEmptyHint { return }
        }
    }

    /// Deletes rows older than the retention period.
    public func trimRequestLog(logger: Logger? = nil) async {
        let cutoff = clock.nowMillis() - Int64(config.logRetentionDays) * 86_400_000
        do {
            let removed = try await store.write { try $0.deleteRequestLogs(before: cutoff) }
            if removed > 0 {
                logger?.info("request log trimmed", metadata: ["mode": "\(mode.rawValue)", "rows": "\(removed)"])
            }
        } catch {
            logger?.warning("request log trim failed", metadata: ["mode": "\(mode.rawValue)"])
        }
    }
}

/// The latest row time of each API key, noted row by row from parsed records. Rows come in runs of one key (a
/// connection's requests, and most callers use one key), so a row whose key is the previous row's is compared by its
/// bytes, without a string or a hash. The run's key points into its record, so the records must outlive the notes.
struct KeyLastUse {
    private var latest: [String: Int64] = [:]
    private var run = LogRecordField()
    private var runMax: Int64 = 0
    private var inRun = false

    mutating func note(_ fields: UnsafePointer<LogRecordField>) {
        let key = fields[LogRecord.Field.apiKeyId.rawValue]
        guard !key.isNil else { return }
        let time = fields[LogRecord.Field.ts.rawValue].value
        if inRun && key.sameText(as: run) {
            runMax = max(runMax, time)
            return
        }
        close()
        run = key
        inRun = true
        runMax = time
    }

    private mutating func close() {
        guard inRun, let name = run.text else { return }
        latest[name] = max(latest[name] ?? 0, runMax)
    }

    /// Each key's latest time, the open run included.
    mutating func times() -> [String: Int64] {
        close()
        inRun = false
        return latest
    }
}

/// Rows that could not be written yet (database busy), bounded.
final class PendingLogRows: Sendable {
    private let rows = Mutex<[LogRecord]>([])

    deinit { rows.withLock { for record in $0 { record.release() } } }

    func take() -> [LogRecord] { rows.withLock { r in defer { r = [] }; return r } }

    /// Keeps `batch` for the next attempt, at most `limit` rows in all; returns how many had to be let go.
    @discardableResult
    func keep(_ batch: [LogRecord], limit: Int) -> Int {
        rows.withLock { r in
            r = batch + r
            guard r.count > limit else { return 0 }
            let excess = r.count - limit
            for record in r[limit...] { record.release() }
            r.removeLast(excess)
            return excess
        }
    }
}

import Synchronization
