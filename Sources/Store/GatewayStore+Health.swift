import ClaimGateCore
import Foundation

/// Whether the store takes a write now: what the admin listener's `/readyz` asks.
extension GatewayStore {
    /// Begins a write transaction on the writer connection, runs a write statement and rolls it
    /// back: it fails when the database cannot be written (opened or mounted read-only, its
    /// journal unwritable, locked by another writer past the busy timeout, an I/O error), and
    /// leaves nothing behind (no row, no page, the file does not grow). `BEGIN IMMEDIATE` alone
    /// is not enough: SQLite grants it on a read-only connection.
    ///
    /// A full disk shows only when a commit needs a new page, so this probe does not see it:
    /// the requests that cannot be recorded are refused (`503`, `audit-unavailable`).
    /// - Throws: `ClaimGateError` `audit-unavailable`, the SQLite error in its diagnostics only.
    public func checkWritable() throws {
        do {
            try db.probeWrite()
        } catch {
            throw ClaimGateError(.auditUnavailable, "The gateway database cannot be written, so nothing can be recorded or served.",
                                 diagnostics: "\(error)")
        }
    }
}

extension GatewayStore {
    /// The backend, where it is, its schema version and (PostgreSQL) the replicas' lag.
    public func databaseStatus() throws -> DatabaseStatus {
        DatabaseStatus(backend: db.dialect.rawValue, location: db.location, schema: try db.schemaVersion(),
                       replicationLagSeconds: try db.replicationLag())
    }
}
