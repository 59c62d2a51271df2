import KnoxCore
import KnoxDataPlane

/// The one way the data plane opens a secret: every injected header (in place or not), every placeholder in a body
/// and the signature check come here, and so meet one set of checks, in one order. A secret past its `expires_at`
/// that enforces expiry strictly is refused before it is opened; a ciphertext that does not open is refused naming
/// the secret; a value bound for a header may not hold CR, LF or NUL. The plaintext goes only into the buffer given,
/// or into one of the opener's own that is wiped before `withValue` returns.
struct SecretOpener {
    let port: any DataPlanePort
    let nowMillis: Int64

    /// Where the value goes, which decides the checks.
    enum Use {
        /// Into the named header: strict expiry, then no CR, LF or NUL.
        case header(String)
        /// Into a body: strict expiry.
        case body
        /// As the HMAC key of the route's request signature (a credential the caller shares, not one injected:
        /// no expiry check, as before).
        case signature

        var checksExpiry: Bool {
            if case .signature = self { return false }
            return true
        }
    }

    /// Checks and opens `prepared` into `out`, exactly its `valueLength` bytes. On a refusal `out` is zeroed.
    func open(_ prepared: PreparedSecret, for use: Use, into out: UnsafeMutableRawBufferPointer) throws(Refusal) {
        if use.checksExpiry, prepared.secret.strictExpiryEnforcement, let expires = prepared.secret.expiresAt,
            nowMillis >= expires
        {
            out.initializeMemory(as: UInt8.self, repeating: 0)
            throw Refusal(.secretUnusable, "Secret \(prepared.secret.name) has expired and its route enforces expiry")
        }
        guard prepared.valueLength == out.count, port.openSecret(prepared, into: out) else {
            out.initializeMemory(as: UInt8.self, repeating: 0)
            throw Refusal(.secretUnusable, "Secret \(prepared.secret.name) cannot be decrypted")
        }
        if case .header(let name) = use, out.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
            out.initializeMemory(as: UInt8.self, repeating: 0)
            throw Refusal(
                .secretUnusable,
                "Secret \(prepared.secret.name) contains CR, LF or NUL and cannot be injected into header \(name)")
        }
    }

    /// Opens `prepared` into a buffer of the opener's own and hands `body` its bytes; the buffer is wiped and freed
    /// when `body` returns or throws.
    func withValue<R>(
        _ prepared: PreparedSecret, for use: Use, _ body: (UnsafeRawBufferPointer) throws(Refusal) -> R
    ) throws(Refusal) -> R {
        guard let n = prepared.valueLength else {
            throw Refusal(.secretUnusable, "Secret \(prepared.secret.name) cannot be decrypted")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n, 1), alignment: 1)
        defer {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            buffer.deallocate()
        }
        let value = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
        try open(prepared, for: use, into: value)
        return try body(UnsafeRawBufferPointer(value))
    }
}
