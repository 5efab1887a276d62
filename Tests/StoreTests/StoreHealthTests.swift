import ClaimGateCore
import ClaimGateTesting
import Foundation
import GRDB
@testable import Store
import Testing

/// The store's write probe (what `/readyz` asks): a write transaction begun, a write statement
/// run and rolled back. It must fail when the database takes no write, and leave the database
/// as it was when it does.
@Suite struct StoreHealthTests {
    let dir = TemporaryDirectory("claimgate-store-health")

    @Test func aWritableStorePassesAndIsNotChangedByTheProbe() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        try store.record(TransferEvent(time: Date(), actor: .system, action: .listing, outcome: .success, transport: .https))
        let before = try Self.fingerprint(store)
        for _ in 0..<50 { try store.checkWritable() }
        #expect(try Self.fingerprint(store) == before, "the probe leaves no row, table or page behind")
        // Writes still work after it.
        try store.record(TransferEvent(time: Date(), actor: .system, action: .listing, outcome: .success, transport: .https))
        #expect(try store.events().count == 2)
    }

    /// SQLite's own read-only state on the writer connection (`PRAGMA query_only`): what a
    /// database that cannot be written answers, as root too (file modes do not stop root).
    @Test func aStoreThatTakesNoWriteFailsAsAuditUnavailable() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        try store.sqlitePool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA query_only = 1") }
        let error = #expect(throws: ClaimGateError.self) { try store.checkWritable() }
        #expect(error?.code == .auditUnavailable)
        #expect(error?.message.contains("/") == false, "no path in the message: \(error?.message ?? "")")
        #expect(error?.diagnostics?.contains("readonly") == true, "\(error?.diagnostics ?? "")")
        try store.sqlitePool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA query_only = 0") }
        try store.checkWritable()
    }

    /// A database whose file is opened read-only (another process's view of it, or a read-only
    /// file system): `BEGIN IMMEDIATE` alone would pass there; the probe's write statement does not.
    @Test func aReadOnlyConnectionFailsTheProbe() throws {
        _ = try GatewayStore(path: dir.file("db.sqlite"))
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: dir.file("db.sqlite"), configuration: config)
        #expect(throws: (any Error).self) { try queue.writeWithoutTransaction { try SQLiteDatabase.probeWrite($0) } }
        let writable = try DatabaseQueue(path: dir.file("db.sqlite"))
        try writable.writeWithoutTransaction { try SQLiteDatabase.probeWrite($0) }
    }

    /// Another process holding the write lock past the busy timeout (10 s): the gateway could not
    /// record anything either, so it is not ready. Released, it is ready again.
    @Test(.timeLimit(.minutes(1)))
    func aDatabaseLockedByAnotherWriterFailsAfterTheBusyTimeout() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        // Debian's python3 itself (not a shim that would outlive `terminate`).
        let holder = try Process.run(URL(fileURLWithPath: "/usr/bin/python3"), arguments: ["-c", """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("BEGIN EXCLUSIVE")
            time.sleep(30)
            """, dir.file("db.sqlite")])
        // SIGKILL: a child may inherit SIGTERM ignored (service groups in this test process ignore it).
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        // Wait until it holds the lock (a write by the store itself would wait behind it).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let free = try? DatabaseQueue(path: dir.file("db.sqlite")).writeWithoutTransaction { try SQLiteDatabase.probeWrite($0) }
            if free == nil { break }
            usleep(50_000)
        }
        let started = Date()
        let error = #expect(throws: ClaimGateError.self) { try store.checkWritable() }
        #expect(error?.code == .auditUnavailable)
        #expect(Date().timeIntervalSince(started) >= 9, "it waited the busy timeout first")
        let released = Date()
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        try store.checkWritable()
        #expect(Date().timeIntervalSince(released) < 5)
    }

    /// Schema, row counts and the database file's size.
    static func fingerprint(_ store: GatewayStore) throws -> [String] {
        try store.sqlitePool.read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master ORDER BY name")
            let counts = try tables.filter { !$0.hasPrefix("sqlite_") && !$0.contains("_autoindex") }.compactMap { name -> String? in
                guard try Bool.fetchOne(db, sql: "SELECT type = 'table' FROM sqlite_master WHERE name = ?", arguments: [name]) == true else { return nil }
                return "\(name)=\(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"\(name)\"") ?? -1)"
            }
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? -1
            return tables + counts + ["pages=\(pages)"]
        }
    }
}
