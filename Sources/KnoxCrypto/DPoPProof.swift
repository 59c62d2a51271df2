import Crypto
import Foundation
import KnoxCore

/// Base64url without padding (RFC 7515 §2).
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
    }

    /// Nil for anything that is not unpadded base64url.
    public static func decode(_ text: Substring) -> [UInt8]? {
        guard !text.contains("="), !text.contains("+"), !text.contains("/") else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.utf8.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}

/// A DPoP proof (RFC 9449) whose signature and claims have been checked; what is left to the caller is the state:
/// the `jti` replay cache and the server nonce.
public struct DPoPProof: Sendable, Equatable {
    /// The RFC 7638 SHA-256 thumbprint of the proof's public key (`cnf.jkt` of a bound token).
    public let jkt: String
    public let jti: String
    public let iat: Int64
    public let nonce: String?

    /// Why a proof was refused; the text names the rule, never the token.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// How far `iat` may be from now, either way.
    public static let iatWindowSeconds: Int64 = 60

    /// Parses and checks a proof: compact JWS with `typ` `dpop+jwt`, `alg` ES256, a public P-256 `jwk` (no private
    /// members), a valid signature, `htm` equal to `method`, `htu` equal to `url` without query and fragment, `iat`
    /// within the window, a `jti`, and — when `accessToken` is given — `ath` equal to the base64url SHA-256 of it.
    public static func verify(
        _ compact: String, method: String, url: String, accessToken: String?, nowSeconds: Int64
    ) throws(Failure) -> DPoPProof {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, compact.utf8.count <= 8192 else { throw Failure("the DPoP proof is not a compact JWT") }
        guard let headerBytes = Base64URL.decode(parts[0]), let header = try? JSONValue.parse(headerBytes),
            let payloadBytes = Base64URL.decode(parts[1]), let claims = try? JSONValue.parse(payloadBytes),
            let signature = Base64URL.decode(parts[2])
        else { throw Failure("the DPoP proof is not valid base64url JSON") }
        guard header["typ"]?.stringValue == "dpop+jwt" else { throw Failure("the DPoP proof's typ must be dpop+jwt") }
        guard header["alg"]?.stringValue == "ES256" else { throw Failure("the DPoP proof's alg must be ES256") }
        guard let jwk = header["jwk"], jwk["kty"]?.stringValue == "EC", jwk["crv"]?.stringValue == "P-256",
            let xText = jwk["x"]?.stringValue, let yText = jwk["y"]?.stringValue,
            let x = Base64URL.decode(Substring(xText)), let y = Base64URL.decode(Substring(yText)), x.count == 32,
            y.count == 32
        else { throw Failure("the DPoP proof's jwk must be a public P-256 key") }
        guard jwk["d"] == nil else { throw Failure("the DPoP proof's jwk must not contain a private key") }
        guard let key = try? P256.Signing.PublicKey(rawRepresentation: x + y),
            let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
            key.isValidSignature(ecdsa, for: Array("\(parts[0]).\(parts[1])".utf8))
        else { throw Failure("the DPoP proof's signature does not verify") }
        guard claims["htm"]?.stringValue == method else {
            throw Failure("the DPoP proof's htm does not match the method")
        }
        guard let htu = claims["htu"]?.stringValue, normalize(htu) == normalize(url) else {
            throw Failure("the DPoP proof's htu does not match the request URL")
        }
        guard let iat = claims["iat"]?.intValue.map(Int64.init) else { throw Failure("the DPoP proof has no iat") }
        guard abs(nowSeconds - iat) <= iatWindowSeconds else {
            throw Failure("the DPoP proof's iat is outside the accepted window of \(iatWindowSeconds) s")
        }
        guard let jti = claims["jti"]?.stringValue, (1...256).contains(jti.utf8.count) else {
            throw Failure("the DPoP proof has no jti")
        }
        if let accessToken {
            guard let ath = claims["ath"]?.stringValue else {
                throw Failure("the DPoP proof has no ath for the access token")
            }
            guard ath == Base64URL.encode(SHA256.hash(data: Array(accessToken.utf8))) else {
                throw Failure("the DPoP proof's ath does not match the access token")
            }
        }
        let nonce = claims["nonce"]?.stringValue
        return DPoPProof(jkt: thumbprint(x: xText, y: yText), jti: jti, iat: iat, nonce: nonce)
    }

    /// RFC 7638: SHA-256 over the required members in lexicographic order, without whitespace.
    public static func thumbprint(x: String, y: String) -> String {
        let canonical = #"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#
        return Base64URL.encode(SHA256.hash(data: Array(canonical.utf8)))
    }

    /// `htu` comparison: without query and fragment, scheme and host case-insensitive (RFC 9449 §4.3).
    static func normalize(_ url: String) -> String {
        let bare = String(url.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let noQuery = String(bare.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        guard let schemeEnd = noQuery.range(of: "://") else { return noQuery }
        let afterScheme = noQuery[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        return noQuery[..<authorityEnd].lowercased() + noQuery[authorityEnd...]
    }
}

/// Server nonces for DPoP (RFC 9449 §8): stateless, one per minute from a secret, the current and the previous
/// minute's accepted.
public struct DPoPNonces: Sendable {
    private let key: SymmetricKey

    public init() { key = SymmetricKey(size: .bits256) }

    public func nonce(atSeconds seconds: Int64) -> String {
        let minute = seconds / 60
        return Base64URL.encode(
            HMAC<SHA256>.authenticationCode(for: Array("dpop-nonce:\(minute)".utf8), using: key).prefix(18))
    }

    public func isCurrent(_ nonce: String, atSeconds seconds: Int64) -> Bool {
        nonce == self.nonce(atSeconds: seconds) || nonce == self.nonce(atSeconds: seconds - 60)
    }
}
