import KnoxCore

/// The outcome of opening a secret for injection.
public enum SecretOpening: Sendable {
    case value(Secret, SecretValue)
    /// No such secret, or no value for the environment or the secret's base environment.
    case notFound
    /// The ciphertext did not authenticate (tampered, or moved from another row).
    case unreadable(Secret)
}
