import Crypto
import Foundation
import KnoxCore

/// Hashing and comparison of API keys and tokens: only hashes are stored, and comparisons take the same
/// time whatever the inputs.
public enum KeyHasher {
    /// SHA-256 of the key text. Keys carry 256 random bits, so a fast hash suffices (no stretching needed).
    public static func hash(_ keyText: String) -> [UInt8] {
        Array(digest(keyText))
    }

    /// Whether `keyText` hashes to `stored`, compared in constant time. The data plane checks a key on every request:
    /// this hashes the text in place, without the copies `hash` makes.
    public static func matches(_ keyText: String, hash stored: [UInt8]) -> Bool {
        digest(keyText).withUnsafeBytes { constantTimeEquals($0, stored) }
    }

    private static func digest(_ keyText: String) -> SHA256.Digest {
        var text = keyText
        return text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { constantTimeEquals(x, $0) } }
    }

    /// Compares a text with bytes (a key as it arrived) in time that depends only on their lengths.
    public static func constantTimeEquals(_ a: String, _ b: UnsafeRawBufferPointer) -> Bool {
        var a = a
        return a.withUTF8 { constantTimeEquals(UnsafeRawBufferPointer($0), b) }
    }

    private static func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    private static func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { constantTimeEquals(a, $0) }
    }

    /// Lowercase hex of SHA-256 over `data`, for request fingerprints (idempotency).
    public static func sha256Hex(_ data: [UInt8]) -> String {
        SHA256.hash(data: data).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// HMAC-SHA256 request signatures as SPEC describes: lowercase hex over `timestamp + METHOD + path + body`.
public enum RequestSignature {
    /// The lowercase hex signature of one request.
    public static func compute(
        secret: SecretValue, timestamp: String, method: String, pathWithQuery: String, body: [UInt8]
    )
        -> String
    {
        compute(
            key: SymmetricKey(data: Data(secret.reveal().utf8)), timestamp: timestamp, method: method,
            pathWithQuery: pathWithQuery, body: body)
    }

    /// Whether `presented` matches the expected signature, compared in constant time.
    public static func verify(
        presented: String, secret: SecretValue, timestamp: String, method: String, pathWithQuery: String, body: [UInt8]
    ) -> Bool {
        verify(
            presented: presented, key: SymmetricKey(data: Data(secret.reveal().utf8)), timestamp: timestamp,
            method: method, pathWithQuery: pathWithQuery, body: body)
    }

    /// `verify` with the secret's bytes where the caller opened them (the data plane, into a buffer it wipes): the
    /// key is copied only into the HMAC's own storage, which is zeroed when it goes.
    public static func verify(
        presented: String, secretBytes: UnsafeRawBufferPointer, timestamp: String, method: String,
        pathWithQuery: String, body: [UInt8]
    ) -> Bool {
        verify(
            presented: presented, key: SymmetricKey(data: secretBytes), timestamp: timestamp, method: method,
            pathWithQuery: pathWithQuery, body: body)
    }

    private static func verify(
        presented: String, key: SymmetricKey, timestamp: String, method: String, pathWithQuery: String, body: [UInt8]
    ) -> Bool {
        let expected = compute(key: key, timestamp: timestamp, method: method, pathWithQuery: pathWithQuery, body: body)
        return KeyHasher.constantTimeEquals(Array(expected.utf8), Array(presented.lowercased().utf8))
    }

    private static func compute(
        key: SymmetricKey, timestamp: String, method: String, pathWithQuery: String, body: [UInt8]
    ) -> String {
        var message = Data(timestamp.utf8)
        message.append(contentsOf: Array(method.utf8))
        message.append(contentsOf: Array(pathWithQuery.utf8))
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return mac.map { byte in byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
    }
}
