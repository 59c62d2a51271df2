import Crypto
import Foundation
import KnoxCore

/// Seals and opens secret values with AES-256-GCM.
///
/// The associated data binds each ciphertext to its tenant, secret id and environment, so a ciphertext copied
/// into another row (another secret, another environment, another tenant) fails to open.
public struct SecretSealer: Sendable {
    private let key: SymmetricKey
    private let checkKey: SymmetricKey

    /// Why a ciphertext could not be opened. Carries no plaintext and no key material.
    public enum OpenError: Error, Equatable {
        /// Authentication failed: tampered, moved to another row, or sealed under another master key.
        case authenticationFailed
        /// Too short or malformed to be a sealed value.
        case malformed
    }

    public init(masterKey: MasterKey) {
        key = masterKey.subkey("knoxcall secret values v1")
        checkKey = masterKey.subkey("knoxcall master key check v1")
    }

    /// Seals `value` for one secret in one environment of one tenant; a fresh random nonce each time.
    public func seal(_ value: SecretValue, tenantId: String, secretId: String, environment: String) -> [UInt8] {
        let aad = Self.associatedData(tenantId: tenantId, secretId: secretId, environment: environment)
        // A 12-byte random nonce is AES.GCM's default, for which `combined` is always present.
        guard let box = try? AES.GCM.seal(Data(value.reveal().utf8), using: key, authenticating: aad),
            let combined = box.combined
        else { preconditionFailure("AES-GCM sealing with a 256-bit key and a default nonce cannot fail") }
        return Array(combined)
    }

    /// Opens a ciphertext sealed by `seal` for the same tenant, secret and environment.
    public func open(_ sealed: [UInt8], tenantId: String, secretId: String, environment: String) throws(OpenError)
        -> SecretValue
    {
        guard sealed.count >= 12 + 16 else { throw .malformed }
        let aad = Self.associatedData(tenantId: tenantId, secretId: secretId, environment: environment)
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.SealedBox(combined: sealed)
        } catch {
            throw .malformed
        }
        do {
            let plain = try AES.GCM.open(box, using: key, authenticating: aad)
            guard let text = String(validating: plain, as: UTF8.self) else { throw OpenError.malformed }
            return SecretValue(text)
        } catch {
            throw .authenticationFailed
        }
    }

    /// A token stored in each database at creation, proving which master key the data was sealed with.
    public func makeKeyCheck(tenantId: String) -> [UInt8] {
        let aad = Data("knoxcall/master-key-check/v1\u{0}\(tenantId)".utf8)
        guard let box = try? AES.GCM.seal(Data("knoxcall".utf8), using: checkKey, authenticating: aad),
            let combined = box.combined
        else { preconditionFailure("AES-GCM sealing with a 256-bit key and a default nonce cannot fail") }
        return Array(combined)
    }

    /// Whether `check` was made by `makeKeyCheck` under this master key.
    public func verifyKeyCheck(_ check: [UInt8], tenantId: String) -> Bool {
        let aad = Data("knoxcall/master-key-check/v1\u{0}\(tenantId)".utf8)
        guard let box = try? AES.GCM.SealedBox(combined: Data(check)),
            let plain = try? AES.GCM.open(box, using: checkKey, authenticating: aad)
        else { return false }
        return plain == Data("knoxcall".utf8)
    }

    static func associatedData(tenantId: String, secretId: String, environment: String) -> [UInt8] {
        // NUL separators: none of the three parts can contain NUL, so the encoding is unambiguous.
        var aad: [UInt8] = []
        aad.reserveCapacity(20 + tenantId.utf8.count + secretId.utf8.count + environment.utf8.count)
        aad.append(contentsOf: "knoxcall/secret/v1".utf8)
        aad.append(0)
        aad.append(contentsOf: tenantId.utf8)
        aad.append(0)
        aad.append(contentsOf: secretId.utf8)
        aad.append(0)
        aad.append(contentsOf: environment.utf8)
        return aad
    }
}
