import CKnoxAEAD
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
    /// BoringSSL's context for `key`, made once: opening a secret is then one call, with no key schedule, no
    /// allocation and no generic wrapper per request. Sealing (rare) stays with swift-crypto.
    private let opener: AEADOpener?

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
        opener = AEADOpener(key: key)
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
        if let opener { return try opener.open(sealed, authenticating: aad) }
        return try Self.openWithSwiftCrypto(sealed, key: key, aad: aad)
    }

    /// `open` with the associated data computed beforehand (the data plane prepares it once per configuration).
    public func open(_ sealed: [UInt8], associatedData aad: [UInt8]) throws(OpenError) -> SecretValue {
        guard sealed.count >= 12 + 16 else { throw .malformed }
        if let opener { return try opener.open(sealed, authenticating: aad) }
        return try Self.openWithSwiftCrypto(sealed, key: key, aad: aad)
    }

    /// The length of the value a sealed box of `count` bytes holds (nonce and tag aside); nil when it is too short
    /// to be one.
    public static func valueLength(sealedCount count: Int) -> Int? { count >= 12 + 16 ? count - 12 - 16 : nil }

    /// Opens `sealed` straight into `out`, which must be exactly `valueLength(sealedCount:)` bytes: for callers that
    /// copy the value into a message (the data plane's injected headers), so no string is made and the plaintext is
    /// only where the caller put it. The value must be UTF-8, as `open`'s. On failure `out` is zeroed.
    public func open(_ sealed: [UInt8], associatedData aad: [UInt8], into out: UnsafeMutableRawBufferPointer)
        throws(OpenError)
    {
        guard let length = Self.valueLength(sealedCount: sealed.count), out.count == length else {
            out.initializeMemory(as: UInt8.self, repeating: 0)
            throw .malformed
        }
        do throws(OpenError) {
            if let opener {
                try opener.open(sealed, authenticating: aad, into: out)
            } else {
                let value = try Self.openWithSwiftCrypto(sealed, key: key, aad: aad).reveal()
                guard value.utf8.count == length else { throw OpenError.malformed }
                _ = out.initializeMemory(as: UInt8.self, from: value.utf8)
            }
            guard Self.isUTF8(UnsafeRawBufferPointer(out)) else { throw OpenError.malformed }
        } catch {
            out.initializeMemory(as: UInt8.self, repeating: 0)
            throw error
        }
    }

    /// Whether `bytes` are well-formed UTF-8 (Unicode 15, table 3-7: no overlong forms, no surrogates, nothing
    /// above U+10FFFF), without making a string.
    public static func isUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            // The continuation bytes after `lead`, and the range the first of them must be in.
            var follow = 2
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: follow = 1
            case 0xE0: low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: break
            case 0xED: high = 0x9F
            case 0xF0: follow = 3; low = 0x90
            case 0xF1...0xF3: follow = 3
            case 0xF4: follow = 3; high = 0x8F
            default: return false
            }
            guard n - i > follow, bytes[i + 1] >= low, bytes[i + 1] <= high else { return false }
            var k = 2
            while k <= follow {
                guard bytes[i + k] & 0xC0 == 0x80 else { return false }
                k += 1
            }
            i += follow + 1
        }
        return true
    }

    /// The same opening through swift-crypto's API (no reusable context; also what `opener` is tested against).
    static func openWithSwiftCrypto(_ sealed: [UInt8], key: SymmetricKey, aad: [UInt8]) throws(OpenError) -> SecretValue
    {
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.SealedBox(combined: sealed)
        } catch {
            throw .malformed
        }
        let plain: Data
        do {
            plain = try AES.GCM.open(box, using: key, authenticating: aad)
        } catch {
            throw .authenticationFailed
        }
        // Outside the `do`: a value that is not UTF-8 is malformed, not a failed authentication.
        guard let text = String(validating: plain, as: UTF8.self) else { throw .malformed }
        return SecretValue(text)
    }

    /// Opens with swift-crypto only, bypassing the reusable context (tests compare the two).
    func openWithoutContext(_ sealed: [UInt8], tenantId: String, secretId: String, environment: String)
        throws(OpenError)
        -> SecretValue
    {
        guard sealed.count >= 12 + 16 else { throw .malformed }
        return try Self.openWithSwiftCrypto(
            sealed, key: key, aad: Self.associatedData(tenantId: tenantId, secretId: secretId, environment: environment)
        )
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

    /// The associated data a value of this secret in this environment is sealed with (public, not secret: ids only).
    public static func associatedData(tenantId: String, secretId: String, environment: String) -> [UInt8] {
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

/// An AES-256-GCM context keyed once (BoringSSL's `EVP_AEAD_CTX`, through CKnoxAEAD). Holds the sealing subkey's
/// schedule, never a plaintext. BoringSSL allows concurrent opens on one context, so every event loop shares it.
final class AEADOpener: @unchecked Sendable {
    // Immutable after init; BoringSSL documents seal/open on one context as safe from several threads at once.
    private let context: OpaquePointer

    init?(key: SymmetricKey) {
        guard
            let context = key.withUnsafeBytes({ bytes -> OpaquePointer? in
                guard let base = bytes.baseAddress else { return nil }
                return knox_aead_aes256gcm_new(base.assumingMemoryBound(to: UInt8.self), bytes.count)
            })
        else { return nil }
        self.context = context
    }

    deinit { knox_aead_free(context) }

    /// Opens `sealed` into `out`, exactly its value's length (`SecretSealer.open(_:associatedData:into:)` checks it).
    /// BoringSSL zeroes `out` when the tag does not match.
    func open(_ sealed: [UInt8], authenticating aad: [UInt8], into out: UnsafeMutableRawBufferPointer)
        throws(SecretSealer.OpenError)
    {
        let length = sealed.count - 12 - 16
        guard length >= 0, out.count == length else { throw .malformed }
        var spare: UInt8 = 0
        let ok = withUnsafeMutablePointer(to: &spare) { spare in
            sealed.withUnsafeBufferPointer { box in
                aad.withUnsafeBufferPointer { ad -> Bool in
                    guard let boxBase = box.baseAddress else { return false }
                    // An empty value has no buffer: BoringSSL still wants somewhere to point.
                    let target = out.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? spare
                    var written = 0
                    let status = knox_aead_open(
                        context, target, &written, length, boxBase, 12, boxBase + 12, length + 16, ad.baseAddress,
                        ad.count)
                    return status == 1 && written == length
                }
            }
        }
        guard ok else { throw .authenticationFailed }
    }

    /// Opens `sealed` (nonce, ciphertext, tag: swift-crypto's combined form) into a temporary buffer on the stack,
    /// checks it is UTF-8 (as swift-crypto's path does) and wipes the buffer once the text is made.
    func open(_ sealed: [UInt8], authenticating aad: [UInt8]) throws(SecretSealer.OpenError) -> SecretValue {
        let length = sealed.count - 12 - 16
        guard length >= 0 else { throw .malformed }
        let outcome: Result<String, SecretSealer.OpenError> = withUnsafeTemporaryAllocation(
            of: UInt8.self, capacity: max(length, 1)
        ) {
            buffer in
            defer { buffer.initialize(repeating: 0) }
            let out = UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[0..<length])
            do throws(SecretSealer.OpenError) {
                try open(sealed, authenticating: aad, into: out)
            } catch {
                return .failure(error)
            }
            guard SecretSealer.isUTF8(UnsafeRawBufferPointer(out)) else { return .failure(.malformed) }
            return .success(String(decoding: out, as: UTF8.self))
        }
        return SecretValue(try outcome.get())
    }
}
