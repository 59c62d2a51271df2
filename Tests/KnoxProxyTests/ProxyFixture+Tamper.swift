import GRDB
import KnoxCore

@testable import KnoxEngine
@testable import KnoxStore

extension ProxyFixture {
    /// Gives `secretId`'s stored values the ciphertext of the secret named `donor` (another secret's row: it no longer
    /// authenticates), as an attacker with the database file could, and reloads the snapshot. The test reaches the
    /// SQLite store itself.
    func sealValues(of secretId: String, withCiphertextOf donor: String) async throws {
        try await (engine.store as! Store).writeSQLite { access in
            try access.db.execute(
                sql: """
                    UPDATE secret_values SET ciphertext = (SELECT v.ciphertext FROM secret_values v
                    JOIN secrets s ON s.id = v.secret_id WHERE s.name = ?) WHERE secret_id = ?
                    """,
                arguments: [donor, secretId])
            try access.bumpConfigVersion()
        }
        try await engine.reloadSnapshot()
    }
}
