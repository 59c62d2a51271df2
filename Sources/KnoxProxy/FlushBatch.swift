import NIOCore

/// Flushes gathered over one turn of an event loop, done together once the turn's I/O events are handled.
///
/// A flush is a write syscall, and on loopback each write wakes the peer that reads it. Flushing every answer and
/// every upstream request at once made the peers (caller and upstream) wake, do one request's work and sleep again,
/// once per request; gathered, the writes of a turn reach them together and they wake once for all of them. Order is
/// unaffected: the writes are queued on their channels as before, only the flush moves to the end of the turn.
///
/// It keeps the context of the handler that wrote (the caller's `ProxyHandler`, an upstream's `UpstreamHandler`), so
/// the flush starts there and goes down to the socket, as the writes did, instead of through the whole pipeline from
/// its tail. A context whose handler was removed (its channel closed) flushes nothing.
final class FlushBatch: @unchecked Sendable {
    // Confined to `eventLoop`.
    let eventLoop: EventLoop
    private var contexts: [ChannelHandlerContext] = []
    private var scheduled = false

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        contexts.reserveCapacity(64)
    }

    /// Flushes `context`'s channel once the current turn's events are handled.
    func flushSoon(_ context: ChannelHandlerContext) {
        contexts.append(context)
        guard !scheduled else { return }
        scheduled = true
        // Tasks run after the I/O events of the current turn: this one sees every flush the turn asked for.
        eventLoop.execute { self.flushAll() }
    }

    private func flushAll() {
        scheduled = false
        var index = 0
        // A flush can end an answer and start the next pipelined request, which may ask for another flush.
        while index < contexts.count {
            contexts[index].flush()
            index += 1
        }
        contexts.removeAll(keepingCapacity: true)
    }
}
