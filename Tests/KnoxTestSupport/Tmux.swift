import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real terminal: a private tmux server (its own socket) running one command in a window of a given size.
/// Tests type into it, read its screen (with colours when asked) and check how the terminal is left.
public final class Tmux: @unchecked Sendable {
    public let socket: String
    public let statusFile: String
    /// Every screen read so far (searched for values that must never show).
    public private(set) var captures: [String] = []

    /// Starts `command` in a `width`×`height` window with `environment`. The pane stays after the command ends, so
    /// the terminal it left behind can be inspected; the exit status goes to `statusFile`.
    public init(_ command: [String], width: Int = 120, height: Int = 40, environment: [String: String] = [:]) throws {
        socket = "knoxcall-test-\(UUID().uuidString.prefix(8))"
        statusFile = NSTemporaryDirectory() + "\(socket).status"
        var args = ["-f", "/dev/null", "new-session", "-d", "-s", "kc", "-x", "\(width)", "-y", "\(height)"]
        let env = ["TERM": "tmux-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"].merging(environment) { $1 }
        for (k, v) in env.sorted(by: { $0.key < $1.key }) { args += ["-e", "\(k)=\(v)"] }
        // sh runs the command in the foreground on the pane's terminal, records how it ended, and then holds the pane
        // open as an operator's shell would: the terminal is read as the command left it. (Once a pane's process has
        // ended, tmux marks it dead and hides its cursor; the tmux server sees that end because its signals are not
        // blocked, see `ChildProcess`.)
        args += ["/bin/sh", "-c", "\"$@\"; echo $? > '\(statusFile)'; exec sleep 86400", "sh"] + command
        args += [";", "set-option", "-t", "kc", "remain-on-exit", "on"]
        _ = try run(args)
    }

    @discardableResult
    public func run(_ args: [String]) throws -> String {
        // posix_spawn, not Foundation's Process: the tmux server that `new-session` starts would inherit the
        // descriptor Process watches for the child's end, and Process would wait for the server forever. The
        // child closes every descriptor above stderr for the same reason, and writes to a file rather than a pipe.
        let outPath = NSTemporaryDirectory() + "\(socket)-\(UUID().uuidString.prefix(6)).out"
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let status = try Self.spawn("/usr/bin/tmux", ["-L", socket] + args, output: outPath)
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TestFailure("tmux \(args.joined(separator: " ")): \(text)") }
        return text
    }

    /// Runs `path` with `args`, stdout and stderr to `output`, and waits for it; returns its exit status.
    static func spawn(_ path: String, _ args: [String], output: String) throws -> Int32 {
        // A clean environment: the pane inherits the server's, and the test runner's own (NO_COLOR, TERM…) must not
        // leak into the program under test.
        let keep = ["PATH", "HOME", "TMPDIR", "USER"]
        let env = ProcessInfo.processInfo.environment.filter { keep.contains($0.key) }
            .merging(["TERM": "xterm-256color", "LANG": "C.UTF-8"]) { $1 }
        return try ChildProcess(path, args, environment: env, output: .file(output)).wait()
    }

    /// The screen as text; with `colors`, with the escape sequences of its colours and attributes.
    public func screen(colors: Bool = false) throws -> String {
        let text = try run(["capture-pane", "-p", "-t", "kc"] + (colors ? ["-e"] : []))
        captures.append(text)
        return text
    }

    /// Sends tmux key names (`Enter`, `Tab`, `C-s`, `Escape`, `Up`…) or single characters.
    public func keys(_ names: String...) throws {
        for name in names { try run(["send-keys", "-t", "kc", name]) }
    }

    /// Types text literally.
    public func type(_ text: String) throws {
        try run(["send-keys", "-t", "kc", "-l", text])
    }

    /// A tmux format value of the pane (`#{alternate_on}`…).
    public func format(_ f: String) throws -> String {
        try run(["display-message", "-p", "-t", "kc", f]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func resize(width: Int, height: Int) throws {
        try run(["resize-window", "-t", "kc", "-x", "\(width)", "-y", "\(height)"])
    }

    /// Waits until the screen satisfies `condition` (polling); returns that screen or fails with the last one.
    @discardableResult
    public func waitFor(
        _ what: String, timeout: TimeInterval = 20, colors: Bool = false, _ condition: (String) -> Bool
    ) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try screen(colors: colors)
            if condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestFailure("timed out waiting for \(what); screen:\n\(last)")
    }

    @discardableResult
    public func waitFor(_ text: String, timeout: TimeInterval = 20) throws -> String {
        try waitFor("“\(text)”", timeout: timeout) { $0.contains(text) }
    }

    /// The process the pane's shell runs (the command under test).
    public func commandPID() throws -> Int32 {
        let shell = try format("#{pane_pid}")
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        guard let pid = children.split(separator: " ").first.flatMap({ Int32($0) }) else {
            throw TestFailure("no child process under the pane's shell \(shell)")
        }
        return pid
    }

    /// Waits for the command to end and returns its exit status as the shell saw it (128+N for signal N).
    public func exitStatus(timeout: TimeInterval = 20) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: statusFile, encoding: .utf8),
                let status = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return status
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestFailure("the command did not end; screen:\n\((try? screen()) ?? "")")
    }

    /// How the command left the terminal: alternate screen, cursor, mouse reporting, keypad mode.
    public func terminalModes() throws -> (alternate: Bool, cursorVisible: Bool, mouse: Bool, keypad: Bool) {
        let parts = try format("#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{keypad_flag}").split(separator: " ")
        return (parts[0] == "1", parts[1] == "1", parts[2] == "1", parts[3] == "1")
    }

    public func kill() {
        _ = try? run(["kill-server"])
        try? FileManager.default.removeItem(atPath: statusFile)
    }

    deinit {
        Capture.record("console-screens", Array(captures.joined(separator: "\n\u{0C}\n").utf8))
        kill()
    }
}
