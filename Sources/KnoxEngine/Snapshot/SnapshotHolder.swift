import Atomics
import KnoxCore
import KnoxDataPlane
import Synchronization

/// Holds the current snapshot. Readers load it with one atomic load (no lock); writers swap it under a lock,
/// and only ever forward, so a slow reload can never replace a newer snapshot with an older one.
public final class SnapshotHolder: Sendable {
    private let current: ManagedAtomic<ConfigSnapshot>
    /// Serialises writers only; readers never take it.
    private let swapLock = Mutex<Void>(())

    public init(_ initial: ConfigSnapshot) {
        current = ManagedAtomic(initial)
    }

    /// The current snapshot.
    public var snapshot: ConfigSnapshot { current.load(ordering: .acquiring) }

    /// Installs `candidate` when it is newer than the current snapshot; returns whether it did.
    @discardableResult
    public func offer(_ candidate: ConfigSnapshot) -> Bool {
        swapLock.withLock { _ in
            guard candidate.version > current.load(ordering: .acquiring).version else { return false }
            current.store(candidate, ordering: .releasing)
            return true
        }
    }
}
