import Audit
import ClaimGateApp
import Operations
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Testing

/// `audit verify` on the gateway: the reason columns reports read are checked against the hashed
/// reason text, also for entries a checkpoint already seals.
@Suite struct ReasonColumnVerificationTests {
    @Test(.enabled(if: TestDatabase.current == .sqlite, "edits the SQLite file behind the gateway's back")) func anEditedReasonColumnIsReportedAsEditedAtItsEntry() throws {
        let f = try GatewayFixture()
        try f.onboard()
        #expect(throws: ClaimGateError.self) {
            try f.gateway.seal(f.order(purpose: "marketing", documents: [try f.document("r.pdf")]), to: .outbox, by: .local(uid: 1000, name: "test"))
        }
        _ = try f.gateway.sealAuditTrail()
        _ = try f.gateway.seal(f.order(documents: [try f.document("s.pdf")]), to: .outbox, by: .local(uid: 1000, name: "test"))
        _ = try f.gateway.sealAuditTrail()
        #expect(try f.gateway.verifyAuditTrail(by: .system).isIntact)

        let refused = try #require(try f.gateway.store.events().first { $0.action == "seal-refused" })
        #expect(refused.reasonCode == "purpose-not-allowed")
        // Someone with the database file relabels the refusal behind the triggers' back.
        let r = try Shell.run(["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("DROP TRIGGER event_no_update")
            db.execute("UPDATE event SET reason_code = 'expiry-in-past' WHERE seq = ?", (int(sys.argv[2]),))
            db.commit()
            """, f.gateway.home.database, "\(refused.sequence)"])
        try #require(r.succeeded, "\(r.stderr)")
        let verdict = try f.gateway.verifyAuditTrail(by: .system)
        #expect(verdict.problem?.code == .entryEdited, "\(verdict)")
        #expect(verdict.problem?.sequence == refused.sequence)
    }
}
