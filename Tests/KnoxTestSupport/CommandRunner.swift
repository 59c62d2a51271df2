import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the built `knoxcall` executable, as an operator would.
public enum Knoxcall {
    /// The executable next to the test bundle (or `$KNOXCALL_BIN`).
    public static var executable: String {
        if let bin = ProcessInfo.processInfo.environment["KNOXCALL_BIN"] { return bin }
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return dir.appendingPathComponent("knoxcall").path
    }

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs to completion and captures both streams.
    /// An admin key of `dataDir`'s Live side (Test with `test`), made by the CLI as an operator's first key is.
    public static func adminKey(dataDir: String, test: Bool = false) throws -> String {
        let key = try run(["keys", "create", "--name", "t", "--data-dir", dataDir] + (test ? ["--test"] : [])).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        Capture.plantKey(key)
        return key
    }

    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 60)
        throws
        -> Result
    {
        let child = try ChildProcess(
            executable, arguments,
            environment: ChildProcess.environment(
                removing: ["KNOXCALL_MASTER_KEY", "KNOXCALL_HOME"], setting: environment))
        child.showsCredentialOnce = arguments.starts(with: ["keys", "create"])
        guard child.wait(timeout: timeout) else {
            child.signal(SIGKILL)
            throw TestFailure("knoxcall \(arguments.joined(separator: " ")) did not finish in \(timeout)s")
        }
        return Result(status: child.wait(), stdout: child.stdout, stderr: child.stderr)
    }
}

/// A `knoxcall serve` process on ephemeral loopback ports.
public final class ServerProcess: @unchecked Sendable {
    public let process: ChildProcess
    public private(set) var livePort = 0
    public private(set) var testPort = 0
    public private(set) var liveProxyPort = 0
    public private(set) var testProxyPort = 0

    /// Starts the server and waits until both management listeners are bound. `ignoringFileSizeSignal`: the server
    /// starts with SIGXFSZ ignored (through a shell), so that a file-size limit set later (`prlimit`) makes its writes
    /// fail as on a full disk instead of killing it.
    public init(
        dataDir: String, extraArguments: [String] = [], environment: [String: String] = [:],
        ignoringFileSizeSignal: Bool = false
    ) throws {
        let arguments =
            [
                "serve", "--data-dir", dataDir, "--live-api", "127.0.0.1:0", "--test-api", "127.0.0.1:0",
                "--live-proxy",
                "127.0.0.1:0", "--test-proxy", "127.0.0.1:0",
            ] + extraArguments
        let environment = ChildProcess.environment(removing: ["KNOXCALL_MASTER_KEY"], setting: environment)
        if ignoringFileSizeSignal {
            // An ignored signal stays ignored across exec; the shell's pid becomes the server's.
            process = try ChildProcess(
                "/bin/sh", ["-c", "trap '' XFSZ; exec \"$0\" \"$@\"", Knoxcall.executable] + arguments,
                environment: environment)
        } else {
            process = try ChildProcess(Knoxcall.executable, arguments, environment: environment)
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = capturedOutput
            if let live = Self.port(in: text, after: "Live management API: http://127.0.0.1:"),
                let test = Self.port(in: text, after: "Test management API: http://127.0.0.1:"),
                let liveProxy = Self.port(in: text, after: "Live data plane: http://127.0.0.1:"),
                let testProxy = Self.port(in: text, after: "Test data plane: http://127.0.0.1:")
            {
                livePort = live
                testPort = test
                liveProxyPort = liveProxy
                testProxyPort = testProxy
                return
            }
            if !process.isRunning { throw TestFailure("knoxcall serve exited: \(text)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.signal(SIGKILL)
        throw TestFailure("knoxcall serve did not report its ports: \(capturedOutput)")
    }

    /// Everything the process wrote to stdout and stderr so far.
    public var capturedOutput: String { process.combinedOutput }

    static func port(in text: String, after marker: String) -> Int? {
        guard let range = text.range(of: marker) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    /// A line of /proc/<pid>/status in kB (`VmRSS`, `VmHWM`).
    public func memoryKB(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    /// SIGTERM, then waits; returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        process.signal(SIGTERM)
        return process.wait()
    }

    /// SIGKILL: no chance to flush or clean up.
    public func kill9() {
        process.signal(SIGKILL)
        process.wait()
    }

    deinit { kill9() }
}
