import Crypto
import CryptoExtras
import Foundation
import KnoxCore
import KnoxCrypto

/// An OIDC issuer for tests: an RSA (RS256) and an EC (ES256) signing key, their JWKS, and ID tokens with any
/// claims — as GitHub Actions or a cloud metadata server would hand a workload.
public struct TestIssuer: Sendable {
    public let issuer: String
    let rsa: _RSA.Signing.PrivateKey
    let ec = P256.Signing.PrivateKey()

    public init(issuer: String = "https://token.actions.example.test") throws {
        self.issuer = issuer
        rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    /// The public keys as a JWKS document.
    public func jwks() throws -> String {
        let p = try rsa.publicKey.getKeyPrimitives()
        let raw = Array(ec.publicKey.rawRepresentation)
        return """
            {"keys":[{"kty":"RSA","kid":"rsa-1","alg":"RS256","use":"sig","n":"\(Base64URL.encode(p.modulus))","e":"\(Base64URL.encode(p.publicExponent))"},
            {"kty":"EC","kid":"ec-1","crv":"P-256","x":"\(Base64URL.encode(raw[0..<32]))","y":"\(Base64URL.encode(raw[32..<64]))"}]}
            """
    }

    /// A signed ID token. `claims` are merged over `iss`, `aud`, `sub`, `iat`, `exp` (one hour from `now`), `jti`.
    public func idToken(
        subject: String, audience: String = "knoxcall:api", now: Int64, claims: [String: String] = [:],
        alg: String = "RS256",
        kid: String? = nil
    ) throws -> String {
        var all: [String: String] = [
            "iss": "\"\(issuer)\"", "aud": "\"\(audience)\"", "sub": "\"\(subject)\"", "iat": String(now),
            "exp": String(now + 3600), "jti": "\"\(UUID().uuidString)\"",
        ]
        for (k, v) in claims { all[k] = v }
        let body =
            "{"
            + all.sorted { $0.key < $1.key }.filter { $0.value != "null" }.map { "\"\($0.key)\":\($0.value)" }
            .joined(separator: ",") + "}"
        let header = #"{"alg":"\#(alg)","typ":"JWT","kid":"\#(kid ?? (alg == "RS256" ? "rsa-1" : "ec-1"))"}"#
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(body.utf8))
        let signature: [UInt8]
        if alg == "RS256" {
            signature = Array(
                try rsa.signature(for: SHA256.hash(data: Array(input.utf8)), padding: .insecurePKCS1v1_5)
                    .rawRepresentation)
        } else {
            signature = Array(try ec.signature(for: Array(input.utf8)).rawRepresentation)
        }
        return input + "." + Base64URL.encode(signature)
    }
}
