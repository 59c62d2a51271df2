import Atomics

/// A bounded, lock-free multi-producer single-consumer queue (Vyukov's bounded MPMC ring, used with one consumer).
///
/// Producers never block and never take a lock: when the ring is full, `push` returns false at once. Safety relies on
/// the protocol, not the type system: any thread may call `push`, but only one thread at a time may call `pop`
/// (the log writer), hence `@unchecked Sendable`.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let mask: Int
    private let sequences: [ManagedAtomic<Int>]
    private let slots: UnsafeMutablePointer<Element?>
    private let enqueuePosition = ManagedAtomic<Int>(0)
    private var dequeuePosition = 0

    /// `capacity` is rounded up to a power of two.
    init(capacity: Int) {
        var size = 2
        while size < capacity { size <<= 1 }
        mask = size - 1
        sequences = (0..<size).map { ManagedAtomic($0) }
        slots = UnsafeMutablePointer<Element?>.allocate(capacity: size)
        slots.initialize(repeating: nil, count: size)
    }

    deinit {
        slots.deinitialize(count: mask + 1)
        slots.deallocate()
    }

    var capacity: Int { mask + 1 }

    /// Adds `element`; false (and nothing stored) when the queue is full. `element` is taken over, not copied: a
    /// log row's strings move into the slot without a retain and a release each.
    func push(_ element: consuming Element) -> Bool {
        var position = enqueuePosition.load(ordering: .relaxed)
        while true {
            let cell = position & mask
            let sequence = sequences[cell].load(ordering: .acquiring)
            let difference = sequence - position
            if difference == 0 {
                let (won, current) = enqueuePosition.compareExchange(
                    expected: position, desired: position + 1, ordering: .relaxed)
                if won {
                    slots[cell] = element
                    sequences[cell].store(position + 1, ordering: .releasing)
                    return true
                }
                position = current
            } else if difference < 0 {
                return false
            } else {
                position = enqueuePosition.load(ordering: .relaxed)
            }
        }
    }

    /// Takes the oldest element, or nil when empty. One consumer at a time.
    func pop() -> Element? {
        let cell = dequeuePosition & mask
        let sequence = sequences[cell].load(ordering: .acquiring)
        guard sequence == dequeuePosition + 1 else { return nil }
        let element = slots[cell].take()  // moved out: no copy of the element, no release of the slot's
        sequences[cell].store(dequeuePosition + mask + 1, ordering: .releasing)
        dequeuePosition += 1
        return element
    }
}
