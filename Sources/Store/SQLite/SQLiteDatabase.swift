import ClaimGateCore
import Foundation
import GRDB

/// The embedded backend: one SQLite file through GRDB, in WAL mode, with durable commits. One
/// writer at a time (SQLite's rule); readers never wait for it.
final class SQLiteDatabase: SQLDatabase {
    let pool: DatabasePool
    let path: String
    let isReadOnly: Bool
    /// For a database opened read-only and immutable: the file as it was when opened.
    let snapshot: FileState?
    var dialect: SQLDialect { .sqlite }
    var location: String { path }

    /// Opens (creating and migrating if needed) the database at `path`. A new database file is
    /// created with mode 0600, and SQLite gives its `-wal` and `-shm` files the same mode.
    init(path: String) throws {
        self.path = path
        isReadOnly = false
        snapshot = nil
        if !FileManager.default.fileExists(atPath: path) {
            // An empty file is an empty database: created here so that it is the owner's only.
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) }
        }
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // Durable commits: the WAL is fsynced before a commit returns.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // The writer appends to the event table's four indexes, three of them (partner,
            // claim, bundle) at scattered places: with a million entries, SQLite's default 2 MiB
            // page cache misses on most of them. 16 MiB keeps the hot index pages (readers keep
            // the default).
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -16384") }
        }
        // A few readers are plenty: reads are short, and each connection has its own page cache.
        config.maximumReaderCount = 4
        do {
            // WAL (a pool always uses it): one fsync per group commit, and readers never wait
            // for the writer's fsync.
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw Self.explain(error, path: path)
        }
        // A database a newer ClaimGate has migrated is not written by an older one: it would
        // write rows the newer schema does not expect (e.g. events without their reason columns).
        let superseded: Bool
        do { superseded = try pool.read { try SQLiteSchema.migrator.hasBeenSuperseded($0) } } catch { throw Self.explain(error, path: path) }
        if superseded {
            throw ClaimGateError(.io, "The gateway database at \(path) was upgraded by a newer ClaimGate: run that version (or newer) on this home.")
        }
        do {
            try SQLiteSchema.migrator.migrate(pool)
        } catch {
            throw Self.explain(error, path: path)
        }
    }

    /// Opens the database at `path` for reading only: no file is created or written, no
    /// migration runs, and every write fails. For commands that only read (`audit verify`,
    /// `bundle list`, `doctor`), so that they work on a read-only copy of a home and leave its
    /// files exactly as they were.
    ///
    /// On a folder that cannot be written (a read-only copy of a home) and with no `-wal` file,
    /// the database is opened immutable, so SQLite needs no `-wal` or `-shm` file (which the
    /// folder could not hold). Immutable means SQLite takes no locks and assumes the file never
    /// changes, so it is used only there; `isUnchangedSinceOpened` then tells whether the file
    /// changed anyway. Otherwise (a gateway may be running) it is opened read-only through the
    /// write-ahead log like any reader, which sees every committed write consistently.
    init(readingAt path: String) throws {
        self.path = path
        isReadOnly = true
        guard FileManager.default.fileExists(atPath: path) else {
            throw ClaimGateError(.io, "The gateway database at \(path) is missing: restore claimgate.sqlite from a backup.")
        }
        let folder = (path as NSString).deletingLastPathComponent
        var st = stat()
        let folderWritable = stat(folder, &st) == 0 && st.st_mode & 0o222 != 0 && access(folder, W_OK) == 0
        let immutable = !folderWritable && !FileManager.default.fileExists(atPath: path + "-wal")
        snapshot = immutable ? FileState(path) : nil
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 2
        // In a URI, only these three characters of a path need escaping.
        let escaped = path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3f")
            .replacingOccurrences(of: "#", with: "%23")
        do {
            pool = try DatabasePool(path: immutable ? "file:\(escaped)?immutable=1" : path, configuration: config)
            let (superseded, complete) = try pool.read { db in
                (try SQLiteSchema.migrator.hasBeenSuperseded(db), try SQLiteSchema.migrator.hasCompletedMigrations(db))
            }
            if superseded {
                throw ClaimGateError(.io, "The gateway database at \(path) was upgraded by a newer ClaimGate: run that version (or newer) on this home.")
            }
            if !complete {
                throw ClaimGateError(.io, "The gateway database at \(path) was written by an older ClaimGate and this command only reads it: run `claimgate serve` or any command that writes on the home once to upgrade it, then run this one again.")
            }
        } catch let e as ClaimGateError {
            throw e
        } catch {
            throw Self.explain(error, path: path)
        }
    }

    /// Whether the file is still as it was when opened read-only and immutable (always true
    /// otherwise).
    var isUnchangedSinceOpened: Bool {
        guard let snapshot else { return true }
        return FileState(snapshot.path) == snapshot && !FileManager.default.fileExists(atPath: snapshot.path + "-wal")
    }

    /// A file's identity, size and modification time.
    struct FileState: Equatable, Sendable {
        let path: String, device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int
        init?(_ path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            self.path = path
            device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
            seconds = st.st_mtim.tv_sec; nanoseconds = st.st_mtim.tv_nsec
        }
    }

    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try pool.read { try body(SQLiteSession($0)) }
    }

    func readStatement<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try pool.unsafeRead { try body(SQLiteSession($0)) }
    }

    func write(_ body: (any SQLSession) throws -> Void) throws {
        try pool.write { try body(SQLiteSession($0)) }
    }

    /// `BEGIN IMMEDIATE`, an `UPDATE` that matches no row, `ROLLBACK` on the writer connection:
    /// it fails when the database cannot be written (opened or mounted read-only, its journal
    /// unwritable, locked by another writer past the busy timeout, an I/O error), and leaves
    /// nothing behind. `BEGIN IMMEDIATE` alone is not enough: SQLite grants it on a read-only
    /// connection. A full disk shows only when a commit needs a new page, so this does not see it.
    func probeWrite() throws {
        try pool.writeWithoutTransaction { try Self.probeWrite($0) }
    }

    static func probeWrite(_ db: Database) throws {
        try db.inTransaction(.immediate) {
            try db.execute(sql: "UPDATE gateway_setting SET value = value WHERE 0")
            return .rollback
        }
    }

    func schemaVersion() throws -> String {
        try pool.read { try SQLiteSchema.migrator.appliedMigrations($0).last ?? "none" }
    }

    func replicationLag() throws -> Double? { nil }

    func describeWriteFailure(_ error: any Error) -> String {
        guard let e = error as? DatabaseError else { return "\(error)" }
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "the database is locked by another process"
        case .SQLITE_FULL: return "the disk is full"
        case .SQLITE_READONLY: return "the database is read-only"
        case .SQLITE_IOERR: return "an I/O error occurred"
        default: return e.message ?? "\(e.resultCode)"
        }
    }

    /// One sentence for an error SQLite reported about the gateway database at `path` (damaged,
    /// not a database, read-only, locked, full), with what to do; nil for any other error. The
    /// SQLite message and statement go to `diagnostics` only.
    static func explainIfDatabaseError(_ error: any Error, path: String) -> ClaimGateError? {
        guard let e = error as? DatabaseError else { return nil }
        let what: String
        switch e.resultCode {
        case .SQLITE_NOTADB:
            what = "is damaged: it is not an SQLite database. Stop the gateway and restore claimgate.sqlite (with its -wal and -shm files, if any) from a backup"
        case .SQLITE_CORRUPT:
            what = "is damaged: SQLite reports that its pages are malformed. Stop the gateway and restore claimgate.sqlite (with its -wal and -shm files, if any) from a backup"
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            what = "cannot be opened or written by this user: check that it owns the --home folder and may write it (commands that only read, such as `audit verify`, also work on a read-only home)"
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            what = "is locked by another process for more than 10 s: try again when it is done"
        case .SQLITE_FULL:
            what = "cannot be written because the disk is full: free space, then try again"
        default:
            what = "cannot be read or written (SQLite result \(e.resultCode.rawValue)): check the disk and the --home folder"
        }
        return ClaimGateError(.io, "The gateway database at \(path) \(what).", diagnostics: "\(e)")
    }

    static func explain(_ error: any Error, path: String) -> ClaimGateError {
        if let e = error as? ClaimGateError { return e }
        return explainIfDatabaseError(error, path: path)
            ?? ClaimGateError(.io, "Cannot open the gateway database at \(path): check the --home folder and its permissions.",
                              diagnostics: "\(error)")
    }
}

extension GatewayStore {
    /// The GRDB pool of a store on SQLite (for tests that look at SQLite itself).
    var sqlitePool: DatabasePool { (db as! SQLiteDatabase).pool }
}
