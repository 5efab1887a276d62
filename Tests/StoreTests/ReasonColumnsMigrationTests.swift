import Audit
import ClaimGateCore
import ClaimGateTesting
import Foundation
import GRDB
@testable import Store
import Testing

/// Migration v9: entries recorded when a reason was one text get their code and subject columns
/// filled from it, and the chain (which hashes the text) still verifies.
@Suite struct ReasonColumnsMigrationTests {
    let dir = TemporaryDirectory("claimgate-reason-migration")

    @Test func legacyReasonTextsBecomeColumnsAndTheChainStillVerifies() throws {
        let path = dir.file("db.sqlite")
        // A database as the gateway left it before v9, with entries in every old form.
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteSchema.migrator.migrate(queue, upTo: "v8-bundle-document-types")
            try queue.write { db in
                var chain = AuditChain()
                let legacy: [(String, String?)] = [
                    ("login-refused", "unknown-key (user 'acme-assessors')"), ("access-refused", "bundle-unavailable: 0bad.p7m"),
                    ("recall", "sent to the wrong assessor"), ("upload", "too-large: /inbox/huge.pdf"), ("listing", nil),
                ]
                for (action, reason) in legacy {
                    let e = chain.append(AuditEntry(time: "2026-11-01T00:00:00.000Z", actor: "system", action: action, outcome: "refused",
                                                    partnerID: nil, claimID: nil, bundleID: nil, purpose: nil, documentDigests: [],
                                                    bytes: nil, reason: reason, transport: "sftp", clientAddress: nil))
                    try db.execute(sql: """
                        INSERT INTO event(seq, time, actor, action, outcome, document_digests, reason, transport, prev_hash, hash)
                        VALUES (?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)
                        """, arguments: [e.sequence, e.time, e.actor, e.action, e.outcome, e.reason, e.transport,
                                         Data(e.previousHash), Data(e.hash)])
                }
            }
        }

        let store = try GatewayStore(path: path)   // migrates to v9
        let events = try store.events()
        #expect(events.map(\.reasonCode) == ["unknown-key", "bundle-unavailable", "operator-note", "upload-too-large", nil])
        #expect(events.map(\.subject) == ["acme-assessors", "0bad.p7m", "sent to the wrong assessor", "/inbox/huge.pdf", nil])
        #expect(events[0].reason == "unknown-key (user 'acme-assessors')", "the recorded text is untouched")

        var entries: [AuditEntry] = [], inconsistent: [Int64] = []
        try store.forEachAuditEntry(inconsistentReason: { inconsistent.append($0) }) { entries.append($0) }
        #expect(AuditVerifier.verify(entries: entries, keys: []).isIntact)
        #expect(inconsistent.isEmpty)

        // New entries are written with their columns, and still append-only.
        try store.record(TransferEvent(time: Date(), actor: .system, action: .loginRefused, outcome: .refused,
                                       reason: EventReason(.unknownPartner, "mallory"), transport: .sftp))
        #expect(try store.events().last.map { [$0.reasonCode, $0.subject, $0.reason] } == ["unknown-partner", "mallory", "unknown-partner: mallory"])
        let queue = try DatabaseQueue(path: path)
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "UPDATE event SET reason_code = 'digest-mismatch' WHERE seq = 1") } }

        // Columns edited behind the triggers' back are found by the check `audit verify` runs.
        try queue.write { db in
            try db.execute(sql: "DROP TRIGGER event_no_update")
            try db.execute(sql: "UPDATE event SET reason_code = 'digest-mismatch' WHERE seq = 2")
        }
        inconsistent = []
        try store.forEachAuditEntry(inconsistentReason: { inconsistent.append($0) }) { _ in }
        #expect(inconsistent == [2])
    }
}

/// A database a newer ClaimGate migrated is refused by an older one, with what to do.
@Suite struct SupersededDatabaseTests {
    let dir = TemporaryDirectory("claimgate-superseded")

    @Test func aDatabaseWithAnUnknownMigrationIsRefused() throws {
        let path = dir.file("db.sqlite")
        _ = try GatewayStore(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v99-from-the-future')") }
        let e = #expect(throws: ClaimGateError.self) { _ = try GatewayStore(path: path) }
        #expect(e?.message.contains("newer ClaimGate") == true, "\(e?.message ?? "")")
    }
}
