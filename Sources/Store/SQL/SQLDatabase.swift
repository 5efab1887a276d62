/// A database the store runs on: SQLite (`SQLiteDatabase`, the embedded default) or PostgreSQL
/// (`PostgresDatabase`, shared by several gateway nodes). The store's logic, its SQL and its
/// audit chain are the same over both; a backend provides connections, transactions, the
/// schema and what its errors mean.
public protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    /// Opened for reading only: every write fails.
    var isReadOnly: Bool { get }
    /// Where the database is, for messages (a path, or a URL without its password).
    var location: String { get }

    /// Runs `body` in one read transaction: it sees one consistent state of the database.
    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// Runs `body`, a single statement, without a transaction around it (one statement is
    /// atomic on its own; on SQLite the BEGIN/COMMIT pair costs as much as a short lookup).
    func readStatement<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// Runs `body` in one write transaction, committed durably before this returns. Writers on
    /// every node are serialised on the audit chain's head, so their entries form one chain.
    func write(_ body: (any SQLSession) throws -> Void) throws
    /// Begins a write, runs a write statement that changes nothing, and rolls back: throws when
    /// the database cannot be written now.
    func probeWrite() throws
    /// A few words on why a write failed, for the `audit-unavailable` message.
    func describeWriteFailure(_ error: any Error) -> String
    /// The last schema migration (SQLite) or step (PostgreSQL) applied.
    func schemaVersion() throws -> String
    /// For PostgreSQL: how far behind the primary its slowest replica is, in seconds, as the
    /// primary sees it (`pg_stat_replication`); nil with no replica, and always for SQLite.
    func replicationLag() throws -> Double?
}
