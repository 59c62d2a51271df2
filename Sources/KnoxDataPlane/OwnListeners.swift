import Foundation
import KnoxCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The addresses this gateway listens on (both modes' management APIs and data planes), so that no route can target
/// them: a route to its own data plane is a request loop, one to its own management API a confused deputy. The
/// configured addresses count before they are bound; each listener adds the address it actually bound (its port
/// differs when the configuration asks for port 0).
///
/// One instance per process, shared by both modes' engines.
public final class OwnListeners: Sendable {
    private let bound = Mutex<[ListenAddress]>([])
    /// The management listeners' bound addresses, by mode (for the OAuth issuer when no public URL is configured).
    private let apis = Mutex<[Mode: ListenAddress]>([:])
    private let configured: [ListenAddress]
    /// This machine's interface addresses (a listener on a wildcard address answers on all of them), read again when
    /// a minute old: interfaces come and go.
    private let interfaces = Mutex<(addresses: [IPAddress], readAt: UInt64)>(([], 0))

    public init(config: KnoxConfig) {
        configured = Mode.allCases.flatMap { [config.apiAddress($0), config.proxyAddress($0)] }
    }

    private var localAddresses: [IPAddress] {
        let now = UInt64(DispatchTime.now().uptimeNanoseconds)
        return interfaces.withLock { cached in
            if cached.readAt == 0 || now &- cached.readAt > 60_000_000_000 {
                cached = (Self.interfaceAddresses(), now)
            }
            return cached.addresses
        }
    }

    /// Records a listener's bound address; `api` names the mode whose management API it is.
    public func register(_ address: ListenAddress, api: Mode? = nil) {
        bound.withLock { list in
            if !list.contains(address) { list.append(address) }
        }
        if let api { apis.withLock { $0[api] = address } }
    }

    /// Where `mode`'s management API listens (bound, else configured).
    public func apiAddress(_ mode: Mode, config: KnoxConfig) -> ListenAddress {
        apis.withLock { $0[mode] } ?? config.apiAddress(mode)
    }

    /// Every address this gateway listens on or is configured to.
    public var addresses: [ListenAddress] { configured + bound.withLock { $0 } }

    /// The listener that `host:port` (a route's target, or the address an upstream connection reached) would reach,
    /// if it is one of ours. `host` is an address or a name; names other than `localhost` are only known once
    /// connected, and are checked then.
    public func listener(reachedBy host: String, port: Int) -> ListenAddress? {
        let lowered = host.lowercased()
        let targets: [IPAddress]
        if let address = IPAddress(lowered) {
            targets = [address.unmapped]
        } else if Self.isLocalhostName(lowered) {
            targets = [.loopbackIPv4, .loopbackIPv6]
        } else {
            return nil
        }
        for listener in addresses where listener.port == port {
            for target in targets where reaches(target, listener) { return listener }
        }
        return nil
    }

    /// `listener(reachedBy:port:)` for an address already resolved (an upstream connection's peer).
    public func listener(reachedBy address: IPAddress, port: Int) -> ListenAddress? {
        let target = address.unmapped
        return addresses.first { $0.port == port && reaches(target, $0) }
    }

    /// Whether connecting to `target` on the listener's port reaches that listener.
    private func reaches(_ target: IPAddress, _ listener: ListenAddress) -> Bool {
        // Connecting to 0.0.0.0 or :: reaches this machine.
        let local = target.isUnspecified || target.isLoopback || localAddresses.contains(target)
        let host = listener.host.lowercased()
        if listener.isWildcard { return local }
        if Self.isLocalhostName(host) { return target.isLoopback || target.isUnspecified }
        guard let bound = IPAddress(host)?.unmapped else { return false }
        return bound == target || (target.isUnspecified && (bound.isLoopback || localAddresses.contains(bound)))
    }

    static func isLocalhostName(_ host: String) -> Bool {
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        return name == "localhost" || name.hasSuffix(".localhost")
    }

    /// The addresses of this machine's network interfaces (`getifaddrs`).
    static func interfaceAddresses() -> [IPAddress] {
        var first: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&first) == 0 else { return [] }
        defer { freeifaddrs(first) }
        var out: [IPAddress] = []
        var cursor = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr else { continue }
            switch Int32(sa.pointee.sa_family) {
            case AF_INET:
                let bytes = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin_addr) { Array($0) }
                }
                if let a = IPAddress(bytes: bytes) { out.append(a) }
            case AF_INET6:
                let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
                }
                if let a = IPAddress(bytes: bytes) { out.append(a.unmapped) }
            default:
                continue
            }
        }
        return out
    }
}
