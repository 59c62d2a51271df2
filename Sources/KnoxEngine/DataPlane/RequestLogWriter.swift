import KnoxCore
import KnoxStore
import Logging
import ServiceLifecycle
import Synchronization

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
        // The last rows; whatever cannot be written now (a full disk) is said, and counted as dropped.
        for engine in engines {
            await engine.flushRequestLog(logger: logger, final: true)
            _ = Self.reportDrops(of: engine, reported: reportedDrops[engine.mode, default: 0], logger: logger)
        }
    }

    /// Warns when `engine`'s sink dropped rows since the last report (`reported`, the total then), with the mode, the
    /// new total and how many since; returns the total now reported.
    static func reportDrops(of engine: Engine, reported: Int, logger: Logger) -> Int {
        let dropped = engine.requestLog.dropped
        guard dropped > reported else { return reported }
        logger.warning(
            "request log rows dropped: buffer full",
            metadata: [
                "mode": "\(engine.mode.rawValue)", "dropped.total": "\(dropped)",
                "dropped.new": "\(dropped - reported)",
            ])
        return dropped
    }
}

extension Engine {
    /// Writes what the sink holds, at most 5,000 rows a transaction. On a busy or full database the rows stay pending
    /// and are retried — at once when it was busy, at most once a second while writes fail. `final`: the process is
    /// stopping; what cannot be written is counted as dropped.
    public func flushRequestLog(logger: Logger? = nil, final: Bool = false) async {
        if logBackoff.load(ordering: .relaxed) && !final {
            let now = clock.nowMillis()
            guard now - logRetryAt.load(ordering: .relaxed) >= 1000 else { return }
            logRetryAt.store(now, ordering: .relaxed)
        }
        var batch = pendingLogRows.take(limit: 5000)
        while true {
            if batch.count < 5000 { requestLog.drain(into: &batch, limit: 5000) }
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
                    return (
                        written.enumerated().compactMap { i, record in record.entry(seq: first + Int64(i)) },
                        rows.count - written.count
                    )
                }
                for record in rows { record.release() }
                if unreadable > 0 {
                    requestLog.countDropped(unreadable)
                    logger?.error(
                        "request log rows unreadable, not stored",
                        metadata: ["mode": "\(mode.rawValue)", "rows": "\(unreadable)"])
                }
                if numbered { requestLog.publish(stored) }
            } catch {
                // Past 100,000 waiting rows the oldest go, counted as dropped (like a full ring); at the end, all, and
                // whatever the sink still holds.
                var lost = pendingLogRows.keep(rows, limit: final ? 0 : 100_000)
                if final {
                    var rest: [LogRecord] = []
                    requestLog.drain(into: &rest, limit: .max)
                    for record in rest { record.release() }
                    lost += rest.count
                }
                if lost > 0 { requestLog.countDropped(lost) }
                // A database that cannot be written is tried once a second; a busy one at the next turn.
                logBackoff.store(error is StoreUnavailable, ordering: .relaxed)
                // Said once per spell of failures (the writer retries every 50 ms), and again when it recovers.
                if logWriteFailing.exchange(true, ordering: .relaxed) == false {
                    logger?.warning(
                        "request log write failed; rows are kept and retried",
                        metadata: [
                            "mode": "\(mode.rawValue)",
                            "reason": "\((error as? StoreUnavailable)?.reason ?? "\(type(of: error))")",
                        ])
                }
                return
            }
            logBackoff.store(false, ordering: .relaxed)
            if logWriteFailing.exchange(false, ordering: .relaxed) {
                logger?.notice("request log writes work again", metadata: ["mode": "\(mode.rawValue)"])
            }
            batch = pendingLogRows.take(limit: 5000)
            if batch.isEmpty && requestLog.isEmptyHint { return }
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

    /// The oldest waiting rows, at most `limit` (a transaction's worth).
    func take(limit: Int) -> [LogRecord] {
        rows.withLock { r in
            let n = min(limit, r.count)
            defer { r.removeFirst(n) }
            return Array(r[0..<n])
        }
    }

    var isEmpty: Bool { rows.withLock { $0.isEmpty } }

    /// Keeps `batch` (older than anything kept since) for the next attempt, at most `limit` rows in all: past it the
    /// oldest go. Returns how many had to be let go.
    @discardableResult
    func keep(_ batch: [LogRecord], limit: Int) -> Int {
        rows.withLock { r in
            r = batch + r
            guard r.count > limit else { return 0 }
            let excess = r.count - limit
            for record in r[0..<excess] { record.release() }
            r.removeFirst(excess)
            return excess
        }
    }
}
