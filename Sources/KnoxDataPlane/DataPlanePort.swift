import KnoxCore

/// What the data plane may ask of its mode's engine, and all it may ask.
///
/// The proxy reads an immutable snapshot, checks callers against it, opens the secrets its plans prepared, hands each
/// finished request's row to the log sink and reads the clock. It never sees the store: this module does not depend
/// on it, and KnoxProxy depends on this module rather than on KnoxEngine. `KnoxEngine.Engine` provides the port.
public protocol DataPlanePort: AnyObject, Sendable {
    /// The side this port serves (Live or Test).
    var mode: Mode { get }
    /// The process's configuration (`[data_plane]`, trusted proxies, hop limit, timeouts).
    var config: KnoxConfig { get }
    /// The wall clock every time on the request path is read from.
    var clock: any WallClock { get }
    /// The current configuration snapshot: immutable, replaced whole when the configuration changes.
    var snapshot: ConfigSnapshot { get }
    /// Where each finished request's log row goes: a queue the engine's writer drains, never the database.
    var requestLog: RequestLogSink { get }
    /// Connections this mode's listeners cut off or refused.
    var connectionStats: ConnectionStats { get }
    /// The addresses of this process's listeners, both modes': no route may reach them.
    var ownListeners: OwnListeners { get }

    /// An API key presented on the data plane, still in the received bytes, checked against `snapshot` (no lock, no
    /// SQLite); `memo` remembers a passed key for the connection's next request.
    func authenticateInvoker(
        credentialBytes: UnsafeRawBufferPointer, snapshot: ConfigSnapshot, nowMillis: Int64, memo: InvokerMemo?
    ) throws(ApiError) -> InvokerIdentity

    /// A KnoxCall OAuth access token, checked against `snapshot`.
    func authenticateToken(_ text: String, snapshot: ConfigSnapshot, nowMillis: Int64) throws(ApiError)
        -> (token: OAuthToken, key: ApiKey?)

    /// The DPoP proof a bound token needs for this very request; the refusal carries the DPoP error type.
    func verifyTokenBinding(
        token: OAuthToken, tokenText: String, scheme: String, proofHeader: String?, method: String, url: String,
        nowMillis: Int64
    ) throws(ApiError)

    /// The server nonce sent back in `DPoP-Nonce` to a request that carried a proof.
    func dpopNonce(nowMillis: Int64) -> String

    /// Opens a secret the snapshot prepared straight into `out` (exactly `prepared.valueLength` bytes): the only way
    /// plaintext reaches the data plane, and no string of it is made. False, with `out` zeroed, when the ciphertext
    /// does not open or the value is not UTF-8.
    func openSecret(_ prepared: PreparedSecret, into out: UnsafeMutableRawBufferPointer) -> Bool
}
