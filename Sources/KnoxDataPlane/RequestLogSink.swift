import Atomics
import KnoxCore
import Synchronization

/// Where the data plane hands each finished request. Bounded and lock-free for producers: a full buffer drops the
/// row and counts it, and never blocks a request. The log writer drains it into SQLite and fans rows out to
/// subscribers (the console's log pane). Rows travel as `LogRecord`s, one allocation each, which the writer frees.
public final class RequestLogSink: Sendable {
    private let queue: BoundedQueue<LogRecord>
    private let droppedCount = ManagedAtomic<Int>(0)
    private let acceptedCount = ManagedAtomic<Int>(0)
    private let subscribers = Mutex<[Int: AsyncStream<[RequestLogEntry]>.Continuation]>([:])
    private let nextSubscriber = ManagedAtomic<Int>(0)

    public init(capacity: Int = 1 << 16) {
        queue = BoundedQueue(capacity: capacity)
    }

    deinit {
        while let record = queue.pop() { record.release() }
    }

    /// Hands one row over; false when the buffer was full (the row is counted as dropped).
    @discardableResult
    public func submit(_ entry: RequestLogEntry) -> Bool {
        submit(LogRecord(entry))
    }

    /// Hands one row over, and with it the record's memory; false when the buffer was full (the row is counted as
    /// dropped and its record freed).
    @discardableResult
    public func submit(_ record: LogRecord) -> Bool {
        if queue.push(record) {
            acceptedCount.wrappingIncrement(ordering: .relaxed)
            return true
        }
        record.release()
        countDropped(1)
        return false
    }

    /// Counts rows lost after they were accepted (a record the store could not read).
    package func countDropped(_ n: Int) {
        droppedCount.wrappingIncrement(by: n, ordering: .relaxed)
    }

    /// Rows dropped because the buffer was full, since start.
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }
    /// Rows accepted, since start.
    public var accepted: Int { acceptedCount.load(ordering: .relaxed) }

    /// A cheap check whether anything is waiting (may be stale; used only to stop a drain loop).
    package var isEmptyHint: Bool { accepted == drainedCount.load(ordering: .relaxed) }
    private let drainedCount = ManagedAtomic<Int>(0)

    /// Moves rows onto the end of `batch` until it holds `limit` (the writer only); no row is copied. The records'
    /// memory is the caller's from then on.
    package func drain(into batch: inout [LogRecord], limit: Int) {
        let before = batch.count
        batch.reserveCapacity(min(limit, before + 1024))
        while batch.count < limit, let entry = queue.pop() { batch.append(entry) }
        drainedCount.wrappingIncrement(by: batch.count - before, ordering: .relaxed)
    }

    /// New rows as they are stored, in batches, with their row ids.
    public func subscribe() -> AsyncStream<[RequestLogEntry]> {
        let id = nextSubscriber.wrappingIncrementThenLoad(ordering: .relaxed)
        let (stream, continuation) = AsyncStream.makeStream(
            of: [RequestLogEntry].self, bufferingPolicy: .bufferingNewest(256))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    /// Whether anyone subscribed. May be stale by one batch; the console also tails the table, so nothing is missed.
    package var hasSubscribers: Bool { !subscribers.withLock { $0.isEmpty } }

    package func publish(_ batch: [RequestLogEntry]) {
        let targets = subscribers.withLock { Array($0.values) }
        for continuation in targets { continuation.yield(batch) }
    }
}
