import KnoxCore
import KnoxCrypto

/// Request signatures (`X-Timestamp`, `X-Signature`) and the JWTs callers present (DPoP proofs, subject tokens).
enum SignatureFuzz {
    static let jwks: JSONValue = [
        "keys": [
            [
                "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            ],
            [
                "kty": "RSA", "kid": "k2", "alg": "RS256",
                "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1Wl", "e": "AQAB",
            ],
        ]
    ]

    static func run(_ input: [UInt8]) {
        // Fields separated by 0xFF: timestamp, method, path, secret, body, presented signature.
        var parts = input.split(separator: 0xFF, maxSplits: 5, omittingEmptySubsequences: false).map { Array($0) }
        while parts.count < 6 { parts.append([]) }
        let text = parts.map { String(decoding: $0, as: UTF8.self) }
        let secret = SecretValue(text[3])
        let expected = RequestSignature.compute(
            secret: secret, timestamp: text[0], method: text[1], pathWithQuery: text[2], body: parts[4])
        FuzzCheck(
            expected.utf8.count == 64 && expected.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) },
            "a signature that is not 64 lowercase hex digits")
        func verify(_ presented: String) -> Bool {
            RequestSignature.verify(
                presented: presented, secret: secret, timestamp: text[0], method: text[1], pathWithQuery: text[2],
                body: parts[4])
        }
        FuzzCheck(verify(expected) && verify(expected.uppercased()), "the right signature refused")
        FuzzCheck(verify(text[5]) == (text[5].lowercased() == expected), "a wrong signature accepted")
        // Whatever a caller sends as a DPoP proof or a subject token is refused with a reason, or is a valid JWT.
        let compact = String(decoding: input, as: UTF8.self)
        _ = try? DPoPProof.verify(
            compact, method: "POST", url: "http://127.0.0.1:8700/oauth/token", accessToken: nil,
            nowSeconds: 1_800_000_000)
        _ = try? JWTVerifier.verify(compact, jwks: jwks)
    }
}
