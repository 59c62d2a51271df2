import KnoxCore
import KnoxCrypto
import KnoxDataPlane
import Synchronization

/// The state DPoP needs on the server: the nonce secret and the replay cache of proof ids (`jti`), kept for the
/// proof window. One per engine (per mode and process).
public final class DPoPGuard: Sendable {
    public let nonces = DPoPNonces()
    private let seen = Mutex<(ids: [String: Int64], lastSweep: Int64)>(([:], 0))
    /// Most proof ids remembered at once; beyond this, new proofs are refused until old ones age out.
    static let capacity = 200_000

    public init() {}

    /// The nonce to send back in `DPoP-Nonce`.
    public func currentNonce(nowMillis: Int64) -> String { nonces.nonce(atSeconds: nowMillis / 1000) }

    /// Records `jti` (scoped by the key that signed it); false when it was seen within the window (a replay).
    func claim(_ proof: DPoPProof, nowMillis: Int64) -> Bool {
        let id = proof.jkt + "/" + proof.jti
        let window = (DPoPProof.iatWindowSeconds * 2 + 5) * 1000
        return seen.withLock { state in
            if nowMillis - state.lastSweep > 10_000 || state.ids.count >= Self.capacity {
                state.ids = state.ids.filter { nowMillis - $0.value < window }
                state.lastSweep = nowMillis
            }
            guard state.ids.count < Self.capacity, state.ids[id] == nil else { return false }
            state.ids[id] = nowMillis
            return true
        }
    }
}

/// Why a DPoP check failed.
public enum DPoPRefusal: Error, Sendable, Equatable {
    /// The proof is missing, malformed, replayed, or does not fit the request or the token.
    case invalid(String)
    /// The proof carries a nonce that is not current: retry with the one in `DPoP-Nonce`.
    case useNonce

    /// The error type, for `/v1` and the data plane (401) and, as `error`, for the token endpoint (400).
    public var type: ErrorType { self == .useNonce ? .useDpopNonce : .invalidDpopProof }

    public var message: String {
        switch self {
        case .invalid(let why): "Invalid DPoP proof: \(why)"
        case .useNonce: "Retry with the server nonce from the DPoP-Nonce header"
        }
    }

    /// As a resource server answers it (RFC 9449 §7.1): the envelope error and its challenge header.
    public var apiError: ApiError { ApiError(type, message) }

    /// As the authorization server answers it (RFC 9449 §5): an OAuth error with status 400.
    public var oauthError: OAuthError { OAuthError(400, type.rawValue, message) }

    /// `WWW-Authenticate` for a 401 of `type`.
    public static func challenge(_ type: ErrorType) -> String { DPoPChallenge.header(type) }
}

extension Engine {
    /// Checks a `DPoP` proof header for one request. The nonce is checked before the `jti` is claimed, so the retry
    /// with a fresh nonce is not refused as a replay. Returns the proof (its `jkt` binds a token).
    public func checkDPoP(
        _ header: String?, method: String, url: String, accessToken: String?, nowMillis: Int64
    ) throws(DPoPRefusal) -> DPoPProof {
        guard let header, !header.isEmpty else { throw .invalid("a DPoP proof header is required") }
        let proof: DPoPProof
        do {
            proof = try DPoPProof.verify(
                header, method: method, url: url, accessToken: accessToken, nowSeconds: nowMillis / 1000)
        } catch {
            throw .invalid(error.description)
        }
        if let nonce = proof.nonce, !dpop.nonces.isCurrent(nonce, atSeconds: nowMillis / 1000) { throw .useNonce }
        guard dpop.claim(proof, nowMillis: nowMillis) else {
            throw .invalid("the DPoP proof was already used (jti replay)")
        }
        return proof
    }

    /// The resource-server side (the management API and the data plane): a token bound to a key (`cnf.jkt`) needs
    /// the `DPoP` scheme and a proof by that key with `ath`; an unbound token must not come with the DPoP scheme.
    public func checkTokenBinding(
        token: OAuthToken, tokenText: String, scheme: String, proofHeader: String?, method: String, url: String,
        nowMillis: Int64
    ) throws(DPoPRefusal) {
        guard let jkt = token.jkt else {
            if scheme == "dpop" { throw .invalid("this token is not DPoP-bound; send it with the Bearer scheme") }
            return
        }
        guard scheme == "dpop" else {
            throw .invalid("this token is DPoP-bound; send Authorization: DPoP <token> with a DPoP proof")
        }
        let proof = try checkDPoP(proofHeader, method: method, url: url, accessToken: tokenText, nowMillis: nowMillis)
        guard proof.jkt == jkt else {
            throw .invalid("the DPoP proof is signed by another key than the one the token is bound to")
        }
    }
}
