import Foundation

/// CPUs this process may run on (its affinity mask, from /proc/self/status), so that a proxy pinned to one core runs
/// one event loop rather than several loops taking turns on it.
public enum AvailableCores {
    public static var count: Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed:") {
                let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
                let n = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
                if n > 0 { return n }
            }
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }
}
