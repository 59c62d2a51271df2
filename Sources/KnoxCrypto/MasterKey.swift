import Crypto
import Foundation
import KnoxCore

/// The 32-byte key that seals every secret value at rest.
///
/// It comes from `KNOXCALL_MASTER_KEY` (base64) or `<data>/master.key`. Purpose-specific subkeys are derived
/// from it with HKDF, so the raw key never touches data directly.
public struct MasterKey: Sendable {
    let key: SymmetricKey

    public enum LoadError: Error, Equatable, CustomStringConvertible {
        case notBase64
        case wrongLength(Int)

        public var description: String {
            switch self {
            case .notBase64: "is not valid base64"
            case .wrongLength(let n):
                "decodes to \(n) bytes; a master key is exactly 32 bytes (base64 of 32 random bytes)"
            }
        }
    }

    /// Decodes a base64 master key (surrounding whitespace ignored).
    public init(base64: String) throws(LoadError) {
        let trimmed = base64.trimmingASCIIWhitespace()
        guard let data = Data(base64Encoded: trimmed) else { throw .notBase64 }
        guard data.count == 32 else { throw .wrongLength(data.count) }
        key = SymmetricKey(data: data)
    }

    /// A new random master key.
    public static func generate() -> MasterKey { MasterKey(key: SymmetricKey(size: .bits256)) }

    private init(key: SymmetricKey) { self.key = key }

    /// The key as base64 text, for writing `master.key` once at first start.
    public func base64Encoded() -> String {
        key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// A subkey for one purpose, derived with HKDF-SHA256.
    func subkey(_ purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key, salt: Data("knoxcall".utf8), info: Data(purpose.utf8), outputByteCount: 32)
    }
}
