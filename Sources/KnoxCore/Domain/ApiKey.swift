/// A management/data-plane API key as stored: only a hash of the secret part is kept.
public struct ApiKey: Sendable, Equatable, Identifiable {
    public enum Kind: String, Sendable, CaseIterable {
        /// `tk_live_…`, production.
        case standard
        /// `tk_test_…`, sandbox.
        case test
        /// `AKE…`, production, with scopes and an expiry.
        case accessKey = "access_key"

        /// The side a key of this kind belongs to.
        public var mode: Mode { self == .test ? .test : .live }
    }

    public var id: String
    /// The public part of the key (`tk_live_<keyId>_…`); unique.
    public var keyId: String
    /// What may be shown of the key: everything before the secret part.
    public var keyPrefix: String
    public var keyType: Kind
    public var name: String
    /// SHA-256 of the whole key text.
    public var keyHash: [UInt8]
    public var revokedAt: Int64?
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var expiresAt: Int64?
    public var rateLimitRequests: Int?
    public var rateLimitWindowSec: Int?
    public var roleIds: [String]
    /// Permission strings an access key is limited to; nil for standard and test keys.
    public var scopes: [String]?
    /// Who made it: `cli`, `console`, or `api_key:<id>`.
    public var createdBy: String?
    /// As an OAuth client: tokens only with a DPoP proof (bound to the proof's key).
    public var requireDpop: Bool
    /// As an OAuth client: the redirect URIs the authorization-code grant may send codes to (matched exactly).
    public var redirectUris: [String]

    public init(
        id: String, keyId: String, keyPrefix: String, keyType: Kind, name: String, keyHash: [UInt8],
        revokedAt: Int64? = nil, createdAt: Int64, lastUsedAt: Int64? = nil, expiresAt: Int64? = nil,
        rateLimitRequests: Int? = nil, rateLimitWindowSec: Int? = nil, roleIds: [String] = [], scopes: [String]? = nil,
        createdBy: String? = nil, requireDpop: Bool = false, redirectUris: [String] = []
    ) {
        self.id = id
        self.keyId = keyId
        self.keyPrefix = keyPrefix
        self.keyType = keyType
        self.name = name
        self.keyHash = keyHash
        self.revokedAt = revokedAt
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.rateLimitRequests = rateLimitRequests
        self.rateLimitWindowSec = rateLimitWindowSec
        self.roleIds = roleIds
        self.scopes = scopes
        self.createdBy = createdBy
        self.requireDpop = requireDpop
        self.redirectUris = redirectUris
    }

    /// Not revoked (expiry is checked separately, against a clock).
    public var active: Bool { revokedAt == nil }

    /// Whether the key authenticates at `nowMillis`.
    public func isUsable(at nowMillis: Int64) -> Bool {
        revokedAt == nil && (expiresAt.map { nowMillis < $0 } ?? true)
    }

    /// The permissions this key holds.
    public var permissions: PermissionSet {
        if keyType == .accessKey { return PermissionSet(scopes ?? []) }
        return PermissionSet(roleIds.compactMap { Role.seeded(id: $0) }.flatMap(\.grants))
    }
}

/// The text of a key as a caller presents it, split into its parts.
public struct KeyCredential: Sendable, Equatable {
    public let kind: ApiKey.Kind
    public let keyId: String
    /// The secret part; never log it.
    public let secret: String

    /// Everything before the last `_`: the OAuth `client_id`, and what may be displayed.
    public var publicPrefix: String {
        switch kind {
        case .standard: "tk_live_\(keyId)"
        case .test: "tk_test_\(keyId)"
        case .accessKey: "AKE\(keyId)"
        }
    }

    /// The whole key text.
    public var text: String { "\(publicPrefix)_\(secret)" }

    /// Length of the id part.
    public static let idLength = 12
    /// Length of the secret part: 43 base-62 characters carry just over 256 bits.
    public static let secretLength = 43
    static let lowerAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    static let upperAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    public init(kind: ApiKey.Kind, keyId: String, secret: String) {
        self.kind = kind
        self.keyId = keyId
        self.secret = secret
    }

    /// Makes a new random key of `kind`.
    public static func generate(_ kind: ApiKey.Kind) -> KeyCredential {
        var rng = SystemRandomNumberGenerator()
        let idAlphabet = kind == .accessKey ? upperAlphabet : lowerAlphabet
        let id = String(
            decoding: (0..<idLength).map { _ in idAlphabet.randomElement(using: &rng) ?? 97 }, as: UTF8.self)
        return KeyCredential(kind: kind, keyId: id, secret: Identifier.randomBase62(secretLength))
    }

    /// Splits a presented key; nil when it has none of the known shapes. One pass over the bytes (the data plane
    /// calls this for every request).
    public static func parse(_ text: String) -> KeyCredential? {
        var text = text
        text.makeContiguousUTF8()
        return text.utf8.withContiguousStorageIfAvailable { parse(bytes: $0) } ?? nil
    }

    /// `parse` over bytes (a header value still in the received head).
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) -> KeyCredential? {
        let kind: ApiKey.Kind
        let start: Int
        if bytes.count > 8, bytes[0] == 0x74, bytes[1] == 0x6B, bytes[2] == 0x5F {  // "tk_"
            if bytes[3] == 0x6C, bytes[4] == 0x69, bytes[5] == 0x76, bytes[6] == 0x65, bytes[7] == 0x5F {  // "live_"
                kind = .standard
            } else if bytes[3] == 0x74, bytes[4] == 0x65, bytes[5] == 0x73, bytes[6] == 0x74, bytes[7] == 0x5F {
                // "test_"
                kind = .test
            } else {
                return nil
            }
            start = 8
        } else if bytes.count > 3, bytes[0] == 0x41, bytes[1] == 0x4B, bytes[2] == 0x45 {  // "AKE"
            kind = .accessKey
            start = 3
        } else {
            return nil
        }
        var separator = -1
        for i in start..<bytes.count {
            let c = bytes[i]
            if c == 0x5F {
                guard separator < 0 else { return nil }
                separator = i
            } else if !isAlnum(c) {
                return nil
            }
        }
        let idLength = separator - start
        let secretLength = bytes.count - separator - 1
        guard separator > 0, (1...64).contains(idLength), (1...256).contains(secretLength) else { return nil }
        let id = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<separator]), as: UTF8.self)
        let secret = String(decoding: UnsafeBufferPointer(rebasing: bytes[(separator + 1)...]), as: UTF8.self)
        return KeyCredential(kind: kind, keyId: id, secret: secret)
    }

    /// Which side a presented credential claims to belong to, from its prefix alone (`tk_live_`, `tk_test_`,
    /// `AKE`, `kc_live_`, `kc_test_`); nil for anything else.
    public static func claimedMode(of text: String) -> Mode? {
        if text.hasPrefix("tk_live_") || text.hasPrefix("AKE") || text.hasPrefix("kc_live_") { return .live }
        if text.hasPrefix("tk_test_") || text.hasPrefix("kc_test_") { return .test }
        return nil
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }
}
