import Crypto
import CryptoExtras
import Foundation
import KnoxCore

/// Verifies JWS-signed JWTs (RS256, ES256) against a JSON Web Key Set, as workload-identity tokens from OIDC
/// issuers (GitHub Actions, GCP, …) are. Claims are returned for the caller to check; only the signature and the
/// key selection happen here.
public enum JWTVerifier {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The parts of a compact JWT, before its signature is checked (to pick the issuer's configuration).
    public static func unverifiedClaims(_ compact: String) throws(Failure) -> JSONValue {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let bytes = Base64URL.decode(parts[1]), let claims = try? JSONValue.parse(bytes),
            claims.objectValue != nil
        else { throw Failure("the subject_token is not a JWT") }
        return claims
    }

    /// Checks the signature of `compact` with the key of `jwks` (a JWKS document) that its header names (`kid`; or
    /// the only key when there is no `kid`). Returns the claims.
    public static func verify(_ compact: String, jwks: JSONValue) throws(Failure) -> JSONValue {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, compact.utf8.count <= 16_384, let headerBytes = Base64URL.decode(parts[0]),
            let header = try? JSONValue.parse(headerBytes), let signature = Base64URL.decode(parts[2])
        else { throw Failure("the subject_token is not a compact JWS") }
        guard let alg = header["alg"]?.stringValue, ["RS256", "ES256"].contains(alg) else {
            throw Failure("the subject_token's alg must be RS256 or ES256")
        }
        let keys = jwks["keys"]?.arrayValue ?? []
        let kid = header["kid"]?.stringValue
        let candidates = keys.filter { key in
            (kid == nil || key["kid"]?.stringValue == kid) && (key["alg"]?.stringValue ?? alg) == alg
                && (key["use"]?.stringValue ?? "sig") == "sig"
        }
        guard let jwk = kid == nil ? (candidates.count == 1 ? candidates.first : nil) : candidates.first else {
            throw Failure(
                "no key of the issuer's JWKS matches the subject_token (kid \(kid.map { "\"\($0.prefix(64))\"" } ?? "absent"))"
            )
        }
        let input = Array("\(parts[0]).\(parts[1])".utf8)
        let valid: Bool
        switch alg {
        case "RS256":
            guard jwk["kty"]?.stringValue == "RSA",
                let n = jwk["n"]?.stringValue.flatMap({ Base64URL.decode(Substring($0)) }),
                let e = jwk["e"]?.stringValue.flatMap({ Base64URL.decode(Substring($0)) }),
                let key = try? _RSA.Signing.PublicKey(n: n, e: e)
            else { throw Failure("the issuer's RSA key is malformed") }
            valid = key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: input),
                padding: .insecurePKCS1v1_5)
        default:
            guard jwk["kty"]?.stringValue == "EC", jwk["crv"]?.stringValue == "P-256",
                let x = jwk["x"]?.stringValue.flatMap({ Base64URL.decode(Substring($0)) }),
                let y = jwk["y"]?.stringValue.flatMap({ Base64URL.decode(Substring($0)) }),
                let key = try? P256.Signing.PublicKey(rawRepresentation: x + y)
            else { throw Failure("the issuer's EC key is malformed") }
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else {
                throw Failure("the subject_token's signature does not verify")
            }
            valid = key.isValidSignature(ecdsa, for: input)
        }
        guard valid else { throw Failure("the subject_token's signature does not verify") }
        guard let bytes = Base64URL.decode(parts[1]), let claims = try? JSONValue.parse(bytes),
            claims.objectValue != nil
        else {
            throw Failure("the subject_token's claims are not a JSON object")
        }
        return claims
    }
}
