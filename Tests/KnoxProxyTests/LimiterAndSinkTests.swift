import Foundation
import KnoxAPI
import KnoxCore
import KnoxTestSupport
import Logging
import Synchronization
import Testing

@testable import KnoxDataPlane
@testable import KnoxEngine

@Suite struct LimiterAndSinkTests {
    @Test func tokenBucketRefillsAtTheConfiguredRate() {
        let limiter = RateLimiter(requests: 10, windowSec: 10, burst: 3)  // one token a second, three at most
        let t0: UInt64 = 1_000_000_000_000
        let burst = (0..<4).map { _ in limiter.take(now: t0) }
        #expect(burst.map(\.allowed) == [true, true, true, false])
        #expect(burst.map(\.remaining) == [2, 1, 0, 0])
        #expect(burst[3].retryAfterNanos == 1_000_000_000)
        #expect(limiter.take(now: t0 + 999_999_999).allowed == false)
        #expect(limiter.take(now: t0 + 1_000_000_000).allowed == true)
        // After a long idle period the bucket holds only its capacity.
        let later = t0 + 3_600_000_000_000
        #expect((0..<5).map { _ in limiter.take(now: later).allowed } == [true, true, true, false, false])
    }

    @Test func limiterIsExactAcrossThreads() async throws {
        let limiter = RateLimiter(requests: 1000, windowSec: 3600, burst: 1000)
        let allowed = try await blocking { () -> Int in
            let counter = NSLock()
            nonisolated(unsafe) var count = 0
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                var mine = 0
                for _ in 0..<1000 where limiter.take(now: 5_000_000_000).allowed { mine += 1 }
                counter.lock()
                count += mine
                counter.unlock()
            }
            return count
        }
        #expect(allowed == 1000)
    }

    @Test func queueDropsWhenFullAndKeepsOrder() {
        let queue = BoundedQueue<Int>(capacity: 4)
        #expect((0..<6).map { queue.push($0) } == [true, true, true, true, false, false])
        #expect(queue.pop() == 0)
        #expect(queue.push(6))
        var out: [Int] = []
        while let v = queue.pop() { out.append(v) }
        #expect(out == [1, 2, 3, 6])
    }

    @Test func queueLosesNothingUnderConcurrentProducers() async throws {
        let queue = BoundedQueue<Int>(capacity: 1 << 16)
        try await blocking {
            DispatchQueue.concurrentPerform(iterations: 4) { producer in
                for i in 0..<10_000 { _ = queue.push(producer * 100_000 + i) }
            }
        }
        var seen = Set<Int>()
        while let v = queue.pop() { seen.insert(v) }
        #expect(seen.count == 40_000)
    }

    @Test func sinkCountsDroppedRows() {
        let sink = RequestLogSink(capacity: 8)
        for i in 0..<10 { sink.submit(RequestLogEntry(requestId: "r\(i)", ts: 0, method: "GET", path: "/")) }
        #expect(sink.accepted == 8)
        #expect(sink.dropped == 2)
        var drained: [LogRecord] = []
        sink.drain(into: &drained, limit: 100)
        #expect(drained.map { $0.entry(seq: 0)?.requestId } == (0..<8).map { "r\($0)" })
        for record in drained { record.release() }
    }

    /// Rows dropped because the sink was full are not silently lost: the writer reports them (mode, running total and
    /// how many since the last report) once, and again only when more are dropped; the rows it could keep are written.
    @Test func writerReportsDroppedRows() async throws {
        let fixture = try EngineFixture()
        defer { fixture.dir.remove() }
        let engine = try fixture.engine()
        let capture = CapturedLog()
        let logger = Logger(label: "test") { _ in capture }
        #expect(RequestLogWriter.reportDrops(of: engine, reported: 0, logger: logger) == 0)
        #expect(capture.lines.isEmpty)
        let capacity = 1 << 16
        for i in 0..<(capacity + 3) {
            engine.requestLog.submit(RequestLogEntry(requestId: "r\(i)", ts: 0, method: "GET", path: "/"))
        }
        #expect(engine.requestLog.dropped == 3)
        #expect(RequestLogWriter.reportDrops(of: engine, reported: 0, logger: logger) == 3)
        #expect(RequestLogWriter.reportDrops(of: engine, reported: 3, logger: logger) == 3)
        #expect(
            capture.lines == ["warning request log rows dropped: buffer full dropped.new=3 dropped.total=3 mode=live"])
        await engine.flushRequestLog()
        let stored = try await engine.store.read { try $0.lastRequestLogSeq() }
        #expect(stored == Int64(capacity))
    }

    /// Each key's last use is the latest time among its rows, whether its rows come in one run, in several runs
    /// interleaved with other keys, or out of time order; rows without a key count for none.
    @Test func lastUsePerKeyAcrossRuns() {
        func row(_ key: String?, _ ts: Int64) -> RequestLogEntry {
            RequestLogEntry(requestId: "r", ts: ts, method: "GET", path: "/", apiKeyId: key)
        }
        let rows = [
            row("a", 5), row("a", 3), row(nil, 99), row("b", 7), row("a", 9), row("a", 1), row("b", 2), row("c", 4),
            row(nil, 100),
        ]
        // As the writer notes them: each stored row's fields, parsed from its record.
        func lastUse(_ rows: [RequestLogEntry]) -> [String: Int64] {
            let records = rows.map(LogRecord.init)
            defer { for record in records { record.release() } }
            var used = KeyLastUse()
            withUnsafeTemporaryAllocation(of: LogRecordField.self, capacity: LogRecord.fieldCount) { buffer in
                buffer.initialize(repeating: LogRecordField())
                for record in records where record.parse(into: buffer.baseAddress!) { used.note(buffer.baseAddress!) }
            }
            return used.times()
        }
        #expect(lastUse(rows) == ["a": 9, "b": 7, "c": 4])
        #expect(lastUse([row(nil, 1)]).isEmpty)
        #expect(lastUse([]).isEmpty)
    }

    @Test func writerStoresTrimsAndPublishes() async throws {
        let fixture = try EngineFixture()
        defer { fixture.dir.remove() }
        let engine = try fixture.engine()
        let key = try await engine.makeKey()
        let caller = try engine.authenticate(credential: key)
        let stream = engine.requestLog.subscribe()
        let now = fixture.clock.nowMillis()
        engine.requestLog.submit(RequestLogEntry(requestId: "old", ts: now - 40 * 86_400_000, method: "GET", path: "/"))
        engine.requestLog.submit(
            RequestLogEntry(requestId: "new", ts: now, method: "GET", path: "/", apiKeyId: caller.key!.id))
        await engine.flushRequestLog()
        var iterator = stream.makeAsyncIterator()
        let batch = await iterator.next()
        #expect(batch?.map(\.requestId) == ["old", "new"])
        #expect(batch?.map(\.seq) == [1, 2])
        // The key's last use comes from its log row.
        let listed = try await engine.getApiKey(caller.key!.id, actor: .console)
        #expect(listed["last_used_at"] == .string(Timestamp.format(millis: now)))
        await engine.trimRequestLog()
        let left = try await engine.requestLogFeed([:], actor: .console).items.compactMap {
            $0["request_id"]?.stringValue
        }
        #expect(left == ["new"])
    }
}

/// A log handler that keeps each line as `level message key=value…` (metadata sorted by key).
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let stored = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var lines: [String] { stored.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        stored.withLock {
            $0.append(([event.level.rawValue, event.message.description] + fields).joined(separator: " "))
        }
    }
}
