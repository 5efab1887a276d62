import Audit
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Store
import Testing

/// A home's trail starts with a genesis entry; a home created before the genesis entry existed
/// is recognised by the migration that found its trail already started, and is not given an
/// invented beginning.
@Suite struct AuditGenesisTests {
    @Test func aNewHomeVerifiesWithItsGenesisAndAReadOnlyExportEndsAtTheLastCheckpoint() throws {
        let f = try GatewayFixture()
        let g = f.gateway
        #expect(try g.verifyAuditTrail(by: .system).isIntact)
        // An entry recorded but not sealed yet, then the home opened read-only.
        try g.store.record(TransferEvent(time: Date(), actor: .system, action: .listing, outcome: .success, transport: .https))
        let sealed = try g.store.auditCheckpoints().map(\.sequence).max() ?? 0
        let head = try g.store.auditHead().sequence
        #expect(head == sealed + 1)
        let ro = try Gateway.openReadOnly(home: g.home)
        let out = f.dir.file("ro.jsonl")
        let export = try ro.exportAuditTrail(to: out, by: .local(uid: 1000, name: "test"))
        #expect(export.lastSequence == sealed)
        #expect(export.leftOut == 1)
        #expect(!export.recorded)
        let v = try AuditVerifier.verify(exportAt: out, keys: [try g.identity.auditKey().publicKey])
        #expect(v.isIntact, "\(v)")
        #expect(v.lastSequence == sealed)
        #expect(try g.store.auditHead().sequence == head, "a read-only export records nothing")
    }

    @Test(.enabled(if: TestDatabase.current == .sqlite, "edits the SQLite file behind the gateway's back")) func aHomeCreatedBeforeTheGenesisEntryVerifiesAndIsNotGivenAnInventedBeginning() throws {
        let f = try GatewayFixture()
        let g = f.gateway
        try g.store.record(TransferEvent(time: Date(), actor: .system, action: .listing, outcome: .success, transport: .https))
        // The trail as an older ClaimGate left it: no genesis entry, chained from its first
        // entry, no record of the genesis migration.
        var old: [AuditEntry] = []
        try g.store.forEachAuditEntry { if $0.action != "audit-genesis" { old.append($0) } }
        var chain = AuditChain()
        let rechained = old.map { chain.append($0) }
        func text(_ s: String?) -> String { s.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL" }
        func hex(_ b: [UInt8]) -> String { "X'" + b.map { String(format: "%02x", $0) }.joined() + "'" }
        var sql = """
            DROP TRIGGER IF EXISTS event_no_update; DROP TRIGGER IF EXISTS event_no_delete;
            DELETE FROM event; DELETE FROM audit_checkpoint;
            DELETE FROM grdb_migrations WHERE identifier = 'v10-audit-origin';
            DELETE FROM gateway_setting WHERE key = 'audit_origin';\n
            """
        for e in rechained {
            sql += """
                INSERT INTO event(seq, time, actor, action, outcome, partner_id, claim_id, bundle_id, purpose, document_digests,
                                  bytes, reason, transport, client_address, prev_hash, hash)
                VALUES (\(e.sequence), \(text(e.time)), \(text(e.actor)), \(text(e.action)), \(text(e.outcome)), \(text(e.partnerID)),
                        \(text(e.claimID)), \(text(e.bundleID)), \(text(e.purpose)), '[]', \(e.bytes.map(String.init) ?? "NULL"),
                        \(text(e.reason)), \(text(e.transport)), \(text(e.clientAddress)), \(hex(e.previousHash)), \(hex(e.hash)));\n
                """
        }
        let r = try Shell.run(["sqlite3", g.home.database], stdin: Data(sql.utf8))
        try #require(r.succeeded, "\(r.stderr)")
        // An older ClaimGate kept no witness of its last checkpoint either.
        try FileManager.default.removeItem(atPath: g.home.identity + "/audit-witness")

        let upgraded = try Gateway.open(home: g.home)
        try upgraded.sealAuditTrail()
        let v = try upgraded.verifyAuditTrail(by: .system)
        #expect(v.isIntact, "\(v)")
        #expect(v.warnings.contains { $0.contains("before ClaimGate wrote a genesis entry") }, "\(v.warnings)")
        #expect(try upgraded.store.auditOrigin() == .legacy(entries: Int64(rechained.count)))

        // Such a home is still checked against what it held when it was upgraded.
        let cut = try Shell.run(["sqlite3", g.home.database,
                                 "DROP TRIGGER IF EXISTS event_no_delete; DELETE FROM event; DELETE FROM audit_checkpoint"])
        try #require(cut.succeeded, "\(cut.stderr)")
        let emptied = try Gateway.open(home: g.home).verifyAuditTrail(by: .system)
        #expect(!emptied.isIntact)
        #expect(emptied.problem?.code == .truncated, "\(emptied)")
    }
}
