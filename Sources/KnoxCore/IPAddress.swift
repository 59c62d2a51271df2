/// An IPv4 or IPv6 address as raw bytes (4 or 16).
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses dotted-quad IPv4 (no leading zeros, which some parsers read as octal) or any
    /// RFC 4291 IPv6 text form, including `::` and an embedded IPv4 tail. A zone (`%eth0`) is refused.
    public init?(_ text: String) {
        if let v4 = IPAddress.parseIPv4(Substring(text)) {
            bytes = v4
        } else if let v6 = IPAddress.parseIPv6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as its IPv4 address; others unchanged.
    public var unmapped: IPAddress {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return IPAddress(uncheckedBytes: Array(bytes[12..<16]))
        }
        return self
    }

    private init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }

    /// `127.0.0.1` and `::1`.
    public static let loopbackIPv4 = IPAddress(uncheckedBytes: [127, 0, 0, 1])
    public static let loopbackIPv6 = IPAddress(uncheckedBytes: Array(repeating: 0, count: 15) + [1])

    /// In `127.0.0.0/8`, or `::1`.
    public var isLoopback: Bool { isIPv4 ? bytes[0] == 127 : self == Self.loopbackIPv6 }

    /// `0.0.0.0` or `::` (connecting to it reaches this machine).
    public var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }

    /// Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run as `::`).
    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [UInt16] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])) }
        var bestStart = -1, bestLen = 0, curStart = -1, curLen = 0
        for (i, g) in groups.enumerated() {
            if g == 0 {
                if curStart < 0 { curStart = i; curLen = 0 }
                curLen += 1
                if curLen > bestLen { bestStart = curStart; bestLen = curLen }
            } else {
                curStart = -1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var parts: [String] = []
        var i = 0
        var out = ""
        while i < 8 {
            if i == bestStart {
                out += (parts.isEmpty ? "" : parts.joined(separator: ":")) + "::"
                parts = []
                i += bestLen
                continue
            }
            parts.append(String(groups[i], radix: 16))
            i += 1
        }
        out += parts.joined(separator: ":")
        return out
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                !(part.count > 1 && part.first == "0"), let v = UInt16(part), v <= 255
            else { return nil }
            out.append(UInt8(v))
        }
        return out
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.count <= 45, !text.contains("%") else { return nil }
        let doubleColons = text.ranges(of: "::")
        guard doubleColons.count <= 1 else { return nil }
        let halves: [String] =
            doubleColons.first.map { [String(text[..<$0.lowerBound]), String(text[$0.upperBound...])] } ?? [text]
        func groups(_ s: String, allowV4Tail: Bool) -> [UInt16]? {
            if s.isEmpty { return [] }
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (i, part) in parts.enumerated() {
                if allowV4Tail, i == parts.count - 1, part.contains(".") {
                    guard let v4 = parseIPv4(part) else { return nil }
                    out.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    out.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard (1...4).contains(part.count), part.allSatisfy({ $0.isHexDigit }), let v = UInt16(part, radix: 16)
                else { return nil }
                out.append(v)
            }
            return out
        }
        var all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], allowV4Tail: false), let tail = groups(halves[1], allowV4Tail: true),
                head.count + tail.count <= 7
            else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let g = groups(halves[0], allowV4Tail: true), g.count == 8 else { return nil }
            all = g
        }
        var bytes: [UInt8] = []
        for g in all { bytes.append(UInt8(g >> 8)); bytes.append(UInt8(g & 0xFF)) }
        return bytes
    }
}

/// An address range in CIDR notation; a bare address is a range of one.
public struct IPRange: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    public enum ParseError: Error, Equatable, Sendable {
        case malformed
        /// The address has bits set beyond the prefix; `suggestion` is the network it probably meant.
        case hostBitsSet(suggestion: String)
    }

    /// Parses `203.0.113.42`, `203.0.113.0/24`, `2001:db8::/32`. Host bits beyond the prefix
    /// are an error rather than silently cleared, so that `10.0.0.5/16` is never read as something the operator did not mean.
    public static func parse(_ text: String) -> Result<IPRange, ParseError> {
        let trimmed = text
        let pieces = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count <= 2, let address = IPAddress(String(pieces[0])) else { return .failure(.malformed) }
        let maxBits = address.bytes.count * 8
        var prefix = maxBits
        if pieces.count == 2 {
            let p = pieces[1]
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                !(p.count > 1 && p.first == "0"),
                let v = Int(p), v <= maxBits
            else { return .failure(.malformed) }
            prefix = v
        }
        let masked = IPRange.mask(address.bytes, prefix)
        if masked != address.bytes {
            // Built from a valid address's own byte count, so the initializer cannot fail.
            let net = IPAddress(bytes: masked) ?? address
            return .failure(.hostBitsSet(suggestion: "\(net)/\(prefix)"))
        }
        return .success(IPRange(network: address, prefixLength: prefix))
    }

    public init(network: IPAddress, prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    /// Whether `address` lies in this range. IPv4-mapped IPv6 callers match IPv4 ranges.
    public func contains(_ address: IPAddress) -> Bool {
        let candidate = network.isIPv4 ? address.unmapped : address
        guard candidate.bytes.count == network.bytes.count else { return false }
        return IPRange.mask(candidate.bytes, prefixLength) == network.bytes
    }

    /// Canonical text; a single address is written without a prefix.
    public var description: String {
        prefixLength == network.bytes.count * 8 ? network.description : "\(network)/\(prefixLength)"
    }

    /// An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) as the IPv4 range it stands for (`10.0.0.0/8`): callers'
    /// addresses are compared unmapped, so only that form can match, and its width is judged as IPv4. Others unchanged.
    public var unmapped: IPRange {
        let mapped = network.unmapped
        guard !network.isIPv4, mapped.isIPv4, prefixLength >= 96 else { return self }
        return IPRange(network: mapped, prefixLength: prefixLength - 96)
    }

    /// The network of `prefix` bits that holds `address`.
    public static func network(of address: IPAddress, prefix: Int) -> IPAddress {
        IPAddress(bytes: mask(address.bytes, prefix)) ?? address  // same byte count as a valid address: cannot fail
    }

    static func mask(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        var out = bytes
        for i in 0..<out.count {
            let bitsHere = max(0, min(8, prefix - i * 8))
            let m: UInt8 = bitsHere == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsHere))
            out[i] &= m
        }
        return out
    }
}
