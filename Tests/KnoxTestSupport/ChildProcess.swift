import CKnoxSpawn
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, its stdout and stderr captured through pipes.
///
/// The tests never use Foundation's `Process` on Linux: in Swift 6.3.1 `Process.run()` reads `/proc/self/fd` with a
/// copy of each entry's whole 256-byte `d_name`, past the end of glibc's directory buffer. When the buffer ends at an
/// unmapped page, the test process dies of SIGSEGV (swift-corelibs-foundation PR #5472; it took down CI once, and
/// AddressSanitizer reports it on every run). Here the child closes every descriptor above stderr itself
/// (`posix_spawn_file_actions_addclosefrom_np`), and the pipes are close-on-exec, so a child spawned at the same time
/// by another test never holds their write ends. The child's signals start at their defaults, none blocked.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let captured = Captured()
    private let statusLock = NSLock()
    private var status: Int32?

    /// What the reader thread fills; its own object, so the reader never keeps the child's owner alive.
    private final class Captured: @unchecked Sendable {
        let lock = NSLock()
        var out = Data()
        var err = Data()
        let finished = DispatchSemaphore(value: 0)
    }

    /// Where the child's stdout and stderr go.
    public enum Output {
        /// Captured: read by `stdout`, `stderr` and `combinedOutput`.
        case pipes
        /// Both into this file (a child that starts daemons, such as tmux, must not hold a pipe of ours).
        case file(String)
    }

    /// Starts `path` (absolute) with `arguments` and exactly `environment`; stdin is /dev/null.
    public init(_ path: String, _ arguments: [String], environment: [String: String], output: Output = .pipes) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var readEnds: [Int32] = []
        var writeEnds: [Int32] = []
        var started = false
        // The parent's write ends always close (the child holds its own copies); the read ends only on failure.
        defer {
            for fd in writeEnds { close(fd) }
            if !started { for fd in readEnds { close(fd) } }
        }
        switch output {
        case .pipes:
            for target: Int32 in [1, 2] {
                var fds: [Int32] = [0, 0]
                guard knox_pipe_cloexec(&fds) == 0 else {
                    throw TestFailure("cannot make a pipe for \(path): errno \(errno)")
                }
                readEnds.append(fds[0])
                writeEnds.append(fds[1])
                posix_spawn_file_actions_adddup2(&actions, fds[1], target)
            }
        case .file(let file):
            posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        guard knox_spawn_addclosefrom(&actions, 3) == 0 else {
            throw TestFailure("cannot set up \(path)'s descriptors: errno \(errno)")
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp: [UnsafeMutablePointer<CChar>?] =
            environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in envp { free(p) } }
        // The child starts with every signal at its default and none blocked: the test runner ignores or blocks some
        // (a signal source needs that), and both would otherwise pass through exec.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw TestFailure("cannot start \(path): error \(rc)") }
        pid = child
        started = true
        let captured = captured
        let reading = readEnds
        if reading.isEmpty {
            captured.finished.signal()
        } else {
            Thread { Self.readUntilClosed(reading, into: captured) }.start()
        }
    }

    /// The test runner's environment without the variables `removing`, then with `setting`.
    public static func environment(removing: [String] = [], setting: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for name in removing { env[name] = nil }
        return env.merging(setting) { $1 }
    }

    /// Reads both pipes until the child (and anything that inherited them) has closed them.
    private static func readUntilClosed(_ fds: [Int32], into captured: Captured) {
        var polled = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var live = fds.count
        while live > 0 {
            let ready = poll(&polled, nfds_t(polled.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in polled.indices where polled[i].fd >= 0 && polled[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(polled[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    captured.lock.withLock {
                        if i == 0 {
                            captured.out.append(contentsOf: buffer[0..<n])
                        } else {
                            captured.err.append(contentsOf: buffer[0..<n])
                        }
                    }
                } else if n == 0 || errno != EINTR {
                    close(polled[i].fd)
                    polled[i].fd = -1
                    live -= 1
                }
            }
        }
        for p in polled where p.fd >= 0 { close(p.fd) }
        captured.finished.signal()
    }

    public var stdout: String { captured.lock.withLock { String(decoding: captured.out, as: UTF8.self) } }
    public var stderr: String { captured.lock.withLock { String(decoding: captured.err, as: UTF8.self) } }
    /// Both streams so far, stdout first.
    public var combinedOutput: String {
        captured.lock.withLock { String(decoding: captured.out + captured.err, as: UTF8.self) }
    }

    /// Whether the child has not exited yet (reaps it when it has).
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// Its exit code, or 128 + the signal that ended it; waits for it to end.
    @discardableResult
    public func wait() -> Int32 {
        reap(blocking: true) ?? -1
    }

    /// Waits up to `timeout` seconds for the child to end and its output to be read; false if it has not.
    public func wait(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        guard captured.finished.wait(timeout: .now() + max(0, deadline.timeIntervalSinceNow)) == .success else {
            return false
        }
        captured.finished.signal()  // stays signalled for a later wait
        return true
    }

    public func signal(_ number: Int32) {
        statusLock.withLock {
            if status == nil { _ = kill(pid, number) }
        }
    }

    /// The exit status once the child is reaped. The blocking wait holds no lock: the reader thread must keep
    /// draining the pipes while the child writes its last output.
    private func reap(blocking: Bool) -> Int32? {
        if let status = statusLock.withLock({ status }) { return status }
        var raw: Int32 = 0
        while true {
            let r = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
            if r == pid { break }
            if r == 0 { return nil }
            if errno == EINTR { continue }
            // ECHILD: another caller reaped it at the same moment.
            return statusLock.withLock { status }
        }
        let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        statusLock.withLock { status = code }
        return code
    }

    /// The output is a one-time display of a credential (`knoxcall keys create`): the leak scan allows it once.
    public var showsCredentialOnce = false

    deinit {
        captured.lock.withLock {
            Capture.record("process-output", Array(captured.out + captured.err), shownOnce: showsCredentialOnce)
        }
        if statusLock.withLock({ status }) == nil {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        }
    }
}
