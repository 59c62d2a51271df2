import KnoxCore

/// A data-plane caller identified by its key.
public struct InvokerIdentity: Sendable, Equatable {
    /// The key's id (what the log row records).
    public let keyId: String
    /// Whether the key holds `proxy:invoke`.
    public let canInvoke: Bool

    package init(keyId: String, canInvoke: Bool) {
        self.keyId = keyId
        self.canInvoke = canInvoke
    }
}

/// One connection's memory of the data-plane key it last presented and what that key resolved to, for one
/// configuration version (`Engine.authenticateInvoker(credentialBytes:snapshot:nowMillis:memo:)`). Only keys that passed
/// are remembered.
public final class InvokerMemo: @unchecked Sendable {
    // Confined to the connection's event loop: only that loop's handler reads and writes it.
    package var credential = ""
    package var version: Int64 = -1
    package var identity: InvokerIdentity?
    package var expiresAt: Int64?

    public init() {}
}

/// The `WWW-Authenticate` challenge that goes with a 401 of a DPoP check (RFC 9449 §7.1), on either listener.
public enum DPoPChallenge {
    public static func header(_ type: ErrorType) -> String { "DPoP error=\"\(type.rawValue)\", algs=\"ES256\"" }
}
