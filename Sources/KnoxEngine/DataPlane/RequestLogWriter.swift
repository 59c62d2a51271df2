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
                let used = Self.lastUse(of: rows)
                // Row ids are only needed by subscribers (the console's log pane); without one, no copy of the batch.
                let numbered = requestLog.hasSubscribers
                let stored = try await store.write { access -> [RequestLogEntry] in
                    try access.insert(rows)
                    // Data-plane keys' last use comes from their log rows, so the request path takes no lock for it.
                    if !used.isEmpty { try access.touchApiKeys(used) }
                    guard numbered else { return [] }
                    let last = try access.lastRequestLogSeq()
                    let first = last - Int64(rows.count) + 1
                    return rows.enumerated().map { i, row in
                        var r = row
                        r.seq = first + Int64(i)
                        return r
                    }
                }
                if numbered { requestLog.publish(stored) }
            } catch {
                pendingLogRows.keep(rows, limit: 100_000)
                logger?.warning("request log write failed; will retry", metadata: ["mode": "\(mode.rawValue)"])
                return
            }
            batch = []
            if requestLog.isEmptyHint { return }
        }
    }

    /// The latest row time of each API key in `rows`. Rows come in runs of one key (a connection's requests, and
    /// most callers use one key), so a row whose key is the previous row's is compared without hashing the key; the
    /// fields are read in place rather than copying each row.
    static func lastUse(of rows: [RequestLogEntry]) -> [String: Int64] {
        var lastUse: [String: Int64] = [:]
        var runKey: String?
        var runMax: Int64 = 0
        for i in rows.indices {
            guard let key = rows[i].apiKeyId else { continue }
            let ts = rows[i].ts
            if key == runKey {
                runMax = max(runMax, ts)
                continue
            }
            if let previous = runKey { lastUse[previous] = max(lastUse[previous] ?? 0, runMax) }
            runKey = key
            runMax = ts
        }
        if let previous = runKey { lastUse[previous] = max(lastUse[previous] ?? 0, runMax) }
        return lastUse
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

/// Rows that could not be written yet (database busy), bounded.
final class PendingLogRows: Sendable {
    private let rows = Mutex<[RequestLogEntry]>([])

    func take() -> [RequestLogEntry] { rows.withLock { r in defer { r = [] }; return r } }

    func keep(_ batch: [RequestLogEntry], limit: Int) {
        rows.withLock { r in
            r = batch + r
            if r.count > limit { r.removeLast(r.count - limit) }
        }
    }
}

import Synchronization
