import Foundation
import KnoxTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The spawner every process test runs on (Foundation's `Process` is not used: see `ChildProcess`).
@Suite struct ChildProcessTests {
    @Test func capturesBothStreamsAndTheExitCode() throws {
        let child = try ChildProcess(
            "/bin/sh", ["-c", "printf out; printf err >&2; exit 7"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(child.wait(timeout: 20))
        #expect(child.wait() == 7)
        #expect(child.stdout == "out")
        #expect(child.stderr == "err")
    }

    /// More than a pipe holds (64 KiB) on each stream, while the parent waits: nothing blocks, nothing is lost.
    @Test func readsLargeOutputWhileWaiting() throws {
        let child = try ChildProcess(
            "/bin/sh", ["-c", "head -c 300000 /dev/zero | tr '\\0' a; head -c 200000 /dev/zero | tr '\\0' b >&2"],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(child.wait() == 0)
        #expect(child.wait(timeout: 20))
        #expect(child.stdout.utf8.count == 300_000 && child.stdout.allSatisfy { $0 == "a" })
        #expect(child.stderr.utf8.count == 200_000 && child.stderr.allSatisfy { $0 == "b" })
    }

    /// The child holds stdin, stdout and stderr only: none of the test process's descriptors (databases, sockets,
    /// other children's pipes) leak into it.
    @Test func childInheritsOnlyTheStandardDescriptors() throws {
        let opened = open("/dev/null", O_RDONLY)
        let held = fcntl(opened, F_DUPFD, 500)  // not close-on-exec
        close(opened)
        defer { close(held) }
        #expect(held >= 500)
        let child = try ChildProcess("/bin/ls", ["/proc/self/fd"], environment: [:])
        #expect(child.wait() == 0)
        #expect(child.wait(timeout: 20))
        let fds = child.stdout.split(separator: "\n").compactMap { Int32($0) }
        // ls's own descriptor on the directory is the one above stderr.
        #expect(fds.filter { $0 > 2 }.count == 1, "\(fds)")
        #expect(!fds.contains(held))
    }

    @Test func aSignalIsReportedAs128PlusItsNumber() throws {
        let child = try ChildProcess("/bin/sleep", ["30"], environment: [:])
        #expect(child.isRunning)
        child.signal(SIGTERM)
        #expect(child.wait() == 128 + SIGTERM)
        #expect(!child.isRunning)
    }

    @Test func exactlyTheGivenEnvironment() throws {
        let child = try ChildProcess("/usr/bin/env", [], environment: ["ONLY": "this"])
        #expect(child.wait() == 0)
        #expect(child.wait(timeout: 20))
        #expect(child.stdout == "ONLY=this\n")
    }

    @Test func aMissingExecutableIsAnError() {
        #expect(throws: TestFailure.self) { try ChildProcess("/nonexistent/knoxcall", [], environment: [:]) }
    }

    /// Foundation's `Process` crashes the test process now and then (see `ChildProcess`): no test may start one.
    @Test func noTestUsesFoundationsProcess() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let files =
            FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        #expect(files.count > 20)
        let pattern = try NSRegularExpression(pattern: #"(?<![A-Za-z_.])(Foundation\.)?Process\s*\("#)
        var offenders: [String] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = String(
                    line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                if pattern.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)) != nil {
                    offenders.append("\(file.lastPathComponent):\(number + 1)")
                }
            }
        }
        #expect(offenders.isEmpty, "Foundation.Process used at \(offenders)")
    }
}
