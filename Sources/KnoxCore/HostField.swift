/// The `Host` header field's value (RFC 9112 §3.2, RFC 3986 §3.2.2): a registered name, an IPv4 address or a bracketed
/// IP literal, with an optional port; or empty. Both listeners refuse anything else.
public enum HostField {
    public static func isValid(_ value: some Sequence<UInt8>) -> Bool {
        value.allSatisfy { c in
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "a")...UInt8(ascii: "z"):
                true
            // unreserved, pct-encoded, sub-delims, the port's colon and an IP literal's brackets
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
                UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
                UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
                UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
                true
            default: false
            }
        }
    }
}
