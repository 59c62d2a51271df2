import Foundation
import Synchronization

/// The whole-suite leak scan's side of the tests (issue 21, point 7). When `KNOXCALL_CAPTURE_DIR` is set (`make test`
/// sets it), the test support keeps everything a test saw or left behind there: every HTTP answer read with
/// `RawHTTP`, every child process's output, every console screen captured through tmux, and every temporary data
/// directory (SQLite files, WAL and SHM included) as it was when the test removed it. Values that must never come
/// back — API keys, planted secret values — are written to `planted/`. After every suite has run,
/// `scripts/leak-scan.py` searches all of it. Without the variable nothing is kept.
///
/// A capture marked `shownOnce` is a one-time display (the CLI printing a new key): a planted value may appear in one
/// such capture and nowhere else. An answer written by the test's upstream (`X-Upstream` set) goes to `upstream-echo/`,
/// where a secret value the route injected may appear (the upstream echoes what it was sent) but an API key may not.
public enum Capture {
    static let directory: String? = {
        guard let dir = ProcessInfo.processInfo.environment["KNOXCALL_CAPTURE_DIR"], !dir.isEmpty else { return nil }
        return dir
    }()
    private static let serial = Atomic<Int>(0)
    private static let lock = Mutex(())

    static func nextName(_ label: String) -> String {
        let n = serial.add(1, ordering: .relaxed).newValue
        let safe = String(label.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(40))
        return "\(ProcessInfo.processInfo.processIdentifier)-\(n)-\(safe)"
    }

    private static func folder(_ name: String) -> String? {
        guard let directory else { return nil }
        let path = (directory as NSString).appendingPathComponent(name)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Registers a value that must never appear in a capture (beyond one `shownOnce` capture).
    public static func plant(_ value: String, kind: String) {
        guard let folder = folder("planted"), !value.isEmpty else { return }
        let hex = value.utf8.map { String(format: "%02x", $0) }.joined()
        let line = Array("\(kind)\t\(hex)\n".utf8)
        let path = (folder as NSString).appendingPathComponent("swift-\(ProcessInfo.processInfo.processIdentifier).tsv")
        lock.withLock { _ in
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            defer { close(fd) }
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }

    /// An API key: `tk_<mode>_<key id>_<secret>` plants its secret (which may hold `_`; the prefix is public and
    /// shown in listings); any other key is planted whole.
    public static func plantKey(_ key: String) {
        let parts = key.split(separator: "_", maxSplits: 3, omittingEmptySubsequences: false)
        plant(parts.count == 4 && parts[0] == "tk" ? String(parts[3]) : key, kind: "api_key")
    }

    /// Keeps `bytes` as one capture. `upstreamAuthored`: an answer the test's own upstream wrote (it echoes what it
    /// received, so a secret value injected for it is in there by design; an API key must still never be).
    public static func record(
        _ label: String, _ bytes: [UInt8], shownOnce: Bool = false, upstreamAuthored: Bool = false
    ) {
        let name = shownOnce ? "shown-once" : upstreamAuthored ? "upstream-echo" : "swift"
        guard let folder = folder(name), !bytes.isEmpty else { return }
        _ = FileManager.default.createFile(
            atPath: (folder as NSString).appendingPathComponent(nextName(label)), contents: Data(bytes))
    }

    /// Keeps every regular file under `path` (a data directory about to be removed).
    public static func keep(directory path: String) {
        guard let folder = folder("data"), FileManager.default.fileExists(atPath: path) else { return }
        let target = (folder as NSString).appendingPathComponent(nextName((path as NSString).lastPathComponent))
        guard let walker = FileManager.default.enumerator(atPath: path) else { return }
        for case let relative as String in walker {
            let source = (path as NSString).appendingPathComponent(relative)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: source),
                attributes[.type] as? FileAttributeType == .typeRegular
            else { continue }
            let destination = (target as NSString).appendingPathComponent(relative)
            try? FileManager.default.createDirectory(
                atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.copyItem(atPath: source, toPath: destination)
        }
    }
}
