import Crypto
import Foundation
import KnoxCrypto

/// A DPoP client key, as the SDK holds one: signs proofs (RFC 9449) for tests, with every claim overridable so that
/// tests can break one rule at a time.
public struct DPoPSigner: Sendable {
    public let privateKey: P256.Signing.PrivateKey

    public init() { privateKey = P256.Signing.PrivateKey() }

    var coordinates: (x: String, y: String) {
        let raw = Array(privateKey.publicKey.rawRepresentation)
        return (Base64URL.encode(raw[0..<32]), Base64URL.encode(raw[32..<64]))
    }

    /// The RFC 7638 thumbprint of the public key.
    public var thumbprint: String { DPoPProof.thumbprint(x: coordinates.x, y: coordinates.y) }

    /// A proof for `method` `url` at `iat` (seconds), bound to `accessToken` through `ath` when given.
    public func proof(
        method: String, url: String, iat: Int64, accessToken: String? = nil, nonce: String? = nil,
        jti: String = UUID().uuidString, typ: String = "dpop+jwt", omitAth: Bool = false, includePrivate: Bool = false
    ) -> String {
        let (x, y) = coordinates
        var jwk = #""kty":"EC","crv":"P-256","x":"\#(x)","y":"\#(y)""#
        if includePrivate { jwk += #","d":"\#(Base64URL.encode(privateKey.rawRepresentation))""# }
        let header = #"{"typ":"\#(typ)","alg":"ES256","jwk":{\#(jwk)}}"#
        var claims = #"{"htm":"\#(method)","htu":"\#(url)","iat":\#(iat),"jti":"\#(jti)""#
        if let accessToken, !omitAth {
            claims += #","ath":"\#(Base64URL.encode(SHA256.hash(data: Array(accessToken.utf8))))""#
        }
        if let nonce { claims += #","nonce":"\#(nonce)""# }
        claims += "}"
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let signature = (try? privateKey.signature(for: Array(input.utf8)).rawRepresentation) ?? Data()
        return input + "." + Base64URL.encode(signature)
    }
}
