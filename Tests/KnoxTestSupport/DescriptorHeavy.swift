/// Tests that hold thousands of sockets at once run one at a time, across every suite of the test process: together
/// they would pass the process's open-file limit, and the listener under test would stop accepting (EMFILE) for a
/// reason that has nothing to do with what is tested.
public actor DescriptorHeavy {
    public static let shared = DescriptorHeavy()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }

    /// Runs `body` while no other descriptor-heavy test runs.
    public static func exclusively<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await shared.acquire()
        do {
            let result = try await body()
            await shared.release()
            return result
        } catch {
            await shared.release()
            throw error
        }
    }
}
