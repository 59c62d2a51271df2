import Crypto
import Foundation
import Testing

@testable import KnoxCore
@testable import KnoxCrypto

@Suite struct SealingTests {
    let sealer = SecretSealer(masterKey: MasterKey.generate())

    @Test func roundTrips() throws {
        let sealed = sealer.seal(SecretValue("sk_live_abc"), tenantId: "t", secretId: "s", environment: "production")
        #expect(
            try sealer.open(sealed, tenantId: "t", secretId: "s", environment: "production").reveal() == "sk_live_abc")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("sk_live_abc"))
        // A fresh nonce each time: the same plaintext never seals to the same bytes.
        #expect(
            sealer.seal(SecretValue("x"), tenantId: "t", secretId: "s", environment: "e")
                != sealer.seal(SecretValue("x"), tenantId: "t", secretId: "s", environment: "e"))
    }

    /// The reusable BoringSSL context opens exactly what swift-crypto's own API opens, and refuses what it refuses.
    @Test func reusableContextAgreesWithSwiftCrypto() throws {
        for value in ["", "a", "sk_live_abc", "ünïcödé 🔑 value", String(repeating: "long-", count: 2000)] {
            let sealed = sealer.seal(SecretValue(value), tenantId: "t", secretId: "s", environment: "e")
            let fast = try sealer.open(sealed, tenantId: "t", secretId: "s", environment: "e")
            let reference = try sealer.openWithoutContext(sealed, tenantId: "t", secretId: "s", environment: "e")
            #expect(fast == reference)
            #expect(fast.reveal() == value)
            var tampered = sealed
            tampered[tampered.count / 2] ^= 0x80
            #expect(throws: SecretSealer.OpenError.authenticationFailed) {
                try sealer.open(tampered, tenantId: "t", secretId: "s", environment: "e")
            }
            #expect(throws: SecretSealer.OpenError.authenticationFailed) {
                try sealer.openWithoutContext(tampered, tenantId: "t", secretId: "s", environment: "e")
            }
        }
    }

    @Test func tamperedCiphertextFails() {
        var sealed = sealer.seal(SecretValue("value"), tenantId: "t", secretId: "s", environment: "production")
        for index in [0, 12, sealed.count - 1] {
            var copy = sealed
            copy[index] ^= 0x01
            #expect(throws: SecretSealer.OpenError.authenticationFailed) {
                try sealer.open(copy, tenantId: "t", secretId: "s", environment: "production")
            }
        }
        sealed.removeLast(20)
        #expect(throws: SecretSealer.OpenError.self) {
            try sealer.open(sealed, tenantId: "t", secretId: "s", environment: "production")
        }
    }

    @Test func movedCiphertextFails() {
        let sealed = sealer.seal(SecretValue("value"), tenantId: "t", secretId: "s1", environment: "production")
        #expect(throws: SecretSealer.OpenError.authenticationFailed) {
            try sealer.open(sealed, tenantId: "t", secretId: "s2", environment: "production")
        }
        #expect(throws: SecretSealer.OpenError.authenticationFailed) {
            try sealer.open(sealed, tenantId: "t", secretId: "s1", environment: "staging")
        }
        #expect(throws: SecretSealer.OpenError.authenticationFailed) {
            try sealer.open(sealed, tenantId: "other", secretId: "s1", environment: "production")
        }
    }

    @Test func otherMasterKeyFails() {
        let other = SecretSealer(masterKey: MasterKey.generate())
        let sealed = sealer.seal(SecretValue("value"), tenantId: "t", secretId: "s", environment: "e")
        #expect(throws: SecretSealer.OpenError.authenticationFailed) {
            try other.open(sealed, tenantId: "t", secretId: "s", environment: "e")
        }
        let check = sealer.makeKeyCheck(tenantId: "t")
        #expect(sealer.verifyKeyCheck(check, tenantId: "t"))
        #expect(!other.verifyKeyCheck(check, tenantId: "t"))
        #expect(!sealer.verifyKeyCheck(check, tenantId: "u"))
    }

    @Test func masterKeyText() throws {
        let key = MasterKey.generate()
        let again = try MasterKey(base64: "  " + key.base64Encoded() + "\n")
        let sealed = SecretSealer(masterKey: key).seal(SecretValue("v"), tenantId: "t", secretId: "s", environment: "e")
        #expect(
            try SecretSealer(masterKey: again).open(sealed, tenantId: "t", secretId: "s", environment: "e").reveal()
                == "v")
        #expect(throws: MasterKey.LoadError.notBase64) { try MasterKey(base64: "not base64!") }
        #expect(throws: MasterKey.LoadError.wrongLength(16)) {
            try MasterKey(base64: Data(count: 16).base64EncodedString())
        }
    }

    @Test func secretValueNeverPrints() {
        let value = SecretValue("hunter2")
        #expect("\(value)" == "‹redacted›")
        #expect(String(reflecting: value) == "‹redacted›")
        var dumped = ""
        dump(value, to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }

    /// The associated data's bytes are part of every stored ciphertext: a value sealed under the documented layout
    /// (`knoxcall/secret/v1`, NUL, tenant, NUL, secret id, NUL, environment) must keep opening.
    @Test func associatedDataLayoutIsStable() throws {
        let master = MasterKey.generate()
        let key = master.subkey("knoxcall secret values v1")
        let aad = Data("knoxcall/secret/v1\u{0}tenant-1\u{0}sec_42\u{0}production".utf8)
        let box = try AES.GCM.seal(Data("stored before".utf8), using: key, authenticating: aad)
        let sealed = try #require(box.combined.map(Array.init))
        let opened = try SecretSealer(masterKey: master).open(
            sealed, tenantId: "tenant-1", secretId: "sec_42", environment: "production")
        #expect(opened.reveal() == "stored before")
        #expect(throws: SecretSealer.OpenError.authenticationFailed) {
            try SecretSealer(masterKey: master).open(
                sealed, tenantId: "tenant-1", secretId: "sec_4", environment: "2production")
        }
    }

    /// A value opens to exactly its text, whatever its characters (U+FFFD, the replacement character, included);
    /// bytes that are not UTF-8, sealed under the right key and data, are refused as malformed, by both openers.
    @Test func openedValuesMustBeUTF8() throws {
        let master = MasterKey.generate()
        let sealer = SecretSealer(masterKey: master)
        let key = master.subkey("knoxcall secret values v1")
        let aad = Array("knoxcall/secret/v1\u{0}t\u{0}s\u{0}production".utf8)
        func sealed(_ bytes: [UInt8]) throws -> [UInt8] {
            try #require(try AES.GCM.seal(bytes, using: key, authenticating: aad).combined.map(Array.init))
        }
        for text in ["", "plain", "päßwörd ✓ 🔑", "\u{FFFD}", "a\u{FFFD}b"] {
            let opened = try sealer.open(
                try sealed(Array(text.utf8)), tenantId: "t", secretId: "s", environment: "production")
            #expect(opened.reveal() == text)
        }
        for bytes: [UInt8] in [[0xFF], [0x61, 0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x61, 0x80, 0x62]] {
            let box = try sealed(bytes)
            #expect(throws: SecretSealer.OpenError.malformed) {
                try sealer.open(box, tenantId: "t", secretId: "s", environment: "production")
            }
            #expect(throws: SecretSealer.OpenError.malformed) {
                try SecretSealer.openWithSwiftCrypto(box, key: key, aad: aad)
            }
        }
    }

    /// The validator without strings agrees with the standard library's on every one- and two-byte sequence, on
    /// every three- and four-byte sequence around the boundaries of table 3-7, and on random ones.
    @Test func utf8ValidationMatchesTheStandardLibrary() {
        func agree(_ bytes: [UInt8]) -> Bool {
            let ours = bytes.withUnsafeBytes { SecretSealer.isUTF8($0) }
            return ours == (String(validating: bytes, as: UTF8.self) != nil)
        }
        var disagreements: [[UInt8]] = []
        for a in 0...255 {
            if !agree([UInt8(a)]) { disagreements.append([UInt8(a)]) }
            for b in 0...255 where !agree([UInt8(a), UInt8(b)]) { disagreements.append([UInt8(a), UInt8(b)]) }
        }
        let edges: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
            0xF5, 0xFF,
        ]
        for a in 0xC0...0xFF {
            for b in edges {
                for c in edges where !agree([UInt8(a), b, c]) { disagreements.append([UInt8(a), b, c]) }
                for c in edges {
                    for d in edges where !agree([UInt8(a), b, c, d]) { disagreements.append([UInt8(a), b, c, d]) }
                }
            }
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &random)).map { _ in
                Bool.random(using: &random)
                    ? UInt8.random(in: 0x80...0xFF, using: &random) : UInt8.random(in: 0...0xFF, using: &random)
            }
            if !agree(bytes) { disagreements.append(bytes) }
        }
        #expect(disagreements.isEmpty, "first: \(disagreements.prefix(5))")
    }

    /// Opening into a buffer gives the same bytes as opening to a string; a tampered box, a buffer of the wrong size
    /// and a value that is not UTF-8 fail with the buffer left zeroed.
    @Test func openingIntoABuffer() throws {
        let master = MasterKey.generate()
        let sealer = SecretSealer(masterKey: master)
        let key = master.subkey("knoxcall secret values v1")
        let aad = SecretSealer.associatedData(tenantId: "t", secretId: "s", environment: "production")
        func open(_ box: [UInt8], size: Int? = nil) -> (bytes: [UInt8], error: SecretSealer.OpenError?) {
            var out = [UInt8](repeating: 0xAA, count: size ?? SecretSealer.valueLength(sealedCount: box.count) ?? 0)
            do {
                try out.withUnsafeMutableBytes { try sealer.open(box, associatedData: aad, into: $0) }
                return (out, nil)
            } catch {
                return (out, error as? SecretSealer.OpenError)
            }
        }
        for text in ["", "k", "sk-päßwörd-🔑-\u{FFFD}", String(repeating: "x", count: 5000)] {
            let box = sealer.seal(SecretValue(text), tenantId: "t", secretId: "s", environment: "production")
            #expect(SecretSealer.valueLength(sealedCount: box.count) == text.utf8.count)
            let opened = open(box)
            #expect(opened.error == nil && opened.bytes == Array(text.utf8))
        }
        let box = sealer.seal(SecretValue("hunter2"), tenantId: "t", secretId: "s", environment: "production")
        var tampered = box
        tampered[20] ^= 1
        let refused = open(tampered)
        #expect(refused.error == .authenticationFailed && refused.bytes.allSatisfy { $0 == 0 })
        let wrongSize = open(box, size: 6)
        #expect(wrongSize.error == .malformed && wrongSize.bytes.allSatisfy { $0 == 0 })
        let notText = try #require(
            try AES.GCM.seal([0x61, 0xFF, 0x62], using: key, authenticating: aad).combined.map(Array.init))
        let malformed = open(notText)
        #expect(malformed.error == .malformed && malformed.bytes == [0, 0, 0])
        #expect(SecretSealer.valueLength(sealedCount: 27) == nil)
        #expect(open(Array(box.prefix(27)), size: 0).error == .malformed)
    }

    @Test func keyMatchingHashesInPlace() {
        let stored = KeyHasher.hash("tk_live_abc_def")
        #expect(KeyHasher.matches("tk_live_abc_def", hash: stored))
        #expect(!KeyHasher.matches("tk_live_abc_deg", hash: stored))
        #expect(!KeyHasher.matches("", hash: stored))
        #expect(!KeyHasher.matches("tk_live_abc_def", hash: Array(stored.dropLast())))
    }

    @Test func hashingAndComparison() {
        #expect(KeyHasher.hash("a") != KeyHasher.hash("b"))
        #expect(KeyHasher.hash("a").count == 32)
        #expect(KeyHasher.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!KeyHasher.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!KeyHasher.constantTimeEquals([1, 2], [1, 2, 3]))
        #expect(
            KeyHasher.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
    }

    @Test func requestSignatures() {
        let secret = SecretValue("key")
        let sig = RequestSignature.compute(
            secret: secret, timestamp: "1700000000", method: "POST", pathWithQuery: "/a?b=1", body: Array("{}".utf8))
        #expect(sig.count == 64)
        #expect(
            RequestSignature.verify(
                presented: sig.uppercased(), secret: secret, timestamp: "1700000000", method: "POST",
                pathWithQuery: "/a?b=1", body: Array("{}".utf8)))
        #expect(
            !RequestSignature.verify(
                presented: sig, secret: secret, timestamp: "1700000001", method: "POST", pathWithQuery: "/a?b=1",
                body: Array("{}".utf8)))
    }
}
