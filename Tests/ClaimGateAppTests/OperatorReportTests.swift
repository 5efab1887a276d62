import Audit
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Store
import Testing

/// The staff sections of `audit report` (issue 16): per-operator activity, local actions and the
/// grants review, from a real store in a temporary home with the clock moved by the test.
///
/// The month reviewed is the one about 120 days from now (certificates of the dev PKI are valid
/// then); times are set in days before the month's end, which is the review time (the report is
/// generated a day after it):
///
/// - 116: the shell adds claire (claims-operator, inbox-export), sam (security-officer), pat
///   (partner-admin) and rex (auditor).
/// - 91: sam grants pat auditor (never used: flagged, 91 days).
/// - 89.5 and 89: pat suspends and resumes acme-assessors (partner-admin last used 89 days before:
///   not flagged). Both before the month.
/// - In the month: claire sends a bundle (20), is refused a partner suspension (19), a forged
///   certificate in claire's name is refused (18), sam suspends claire (17), claire is refused
///   as suspended (16), sam removes rex (15), the shell suspends st-marys-hospital (14), and an
///   entry as a pre-operator gateway wrote it (`admin:olduser`, 13).
@Suite struct OperatorReportTests {
    final class Scenario: @unchecked Sendable {
        let clock = ManualClock(Date())
        let month = ReportMonth(containing: Date().addingTimeInterval(120 * 86_400))
        let o: OperatorFixture
        var claire = Principal.system, sam = Principal.system, pat = Principal.system
        let forged = Principal.operator(try! OperatorID("claire"), fingerprint: String(repeating: "ab", count: 32))
        var end: Date { month.end }

        func at(_ daysBeforeEnd: Double) { clock.now = end.addingTimeInterval(-daysBeforeEnd * 86_400) }
        func time(_ daysBeforeEnd: Double) -> String { AuditTime.format(end.addingTimeInterval(-daysBeforeEnd * 86_400)) }

        init() throws {
            o = try OperatorFixture(clock: clock)
            at(116)
            claire = try o.add("claire", [.claimsOperator], grants: [.inboxExport])
            sam = try o.add("sam", [.securityOfficer])
            pat = try o.add("pat", [.partnerAdmin])
            try o.add("rex", [.auditor])
            at(91)
            try o.gateway.grantOperator("pat", .role(.auditor), by: sam)
            at(89.5)
            try o.gateway.suspendPartner("acme-assessors", reason: "checking", by: pat)
            at(89)
            try o.gateway.resumePartner("acme-assessors", by: pat)

            at(20)
            _ = try o.gateway.seal(o.f.order(documents: [try o.f.document("a.pdf")]), to: .outbox, by: claire)
            at(19)
            #expect(throws: ClaimGateError.self) { try o.gateway.suspendPartner("acme-assessors", reason: nil, by: claire) }
            at(18)
            #expect(throws: ClaimGateError.self) { try o.gateway.suspendPartner("acme-assessors", reason: nil, by: forged) }
            at(17)
            try o.gateway.suspendOperator("claire", by: sam)
            at(16)
            #expect(throws: ClaimGateError.self) {
                try o.gateway.seal(o.f.order(documents: [try o.f.document("b.pdf")]), to: .outbox, by: claire)
            }
            at(15)
            try o.gateway.removeOperator("rex", by: sam)
            at(14)
            try o.gateway.suspendPartner("st-marys-hospital", reason: "break-glass test", by: OperatorFixture.shell)
            at(13)
            try o.gateway.store.record(TransferEvent(time: clock.now, actor: .admin("olduser"), action: .auditExported,
                                                     outcome: .success, transport: .cli))
            at(-1)
        }

        func review() throws -> AccessReview { try o.gateway.accessReview(month: month) }
    }

    @Test func operatorsActivityCountsActionsRefusalsAndCertificatesInTheMonthOnly() throws {
        let s = try Scenario()
        let r = try s.review()
        // pat acted only before the month; rex never acted.
        #expect(r.operators.map(\.operator) == ["claire", "sam"])

        let claire = try #require(r.operators.first { $0.operator == "claire" })
        #expect(claire.state == "suspended")
        #expect(claire.actions == [OperatorActionCount(kind: "send", action: "queue", count: 1)])
        #expect(claire.byKind == ["send": 1])
        #expect(claire.refusals == [
            OperatorRefusalCount(action: "operator-refused", reason: "operator-certificate-mismatch", refusedAction: "partner-suspend", count: 1),
            OperatorRefusalCount(action: "operator-refused", reason: "operator-suspended", refusedAction: "send", count: 1),
            OperatorRefusalCount(action: "operator-refused", reason: "role-missing", refusedAction: "partner-suspend", count: 1),
        ])
        #expect(claire.entries == 4)
        #expect(claire.firstTime == s.time(20))
        #expect(claire.lastTime == s.time(16))
        let onRecord = try #require(try s.o.gateway.store.operator(OperatorID("claire"))).certificate.fingerprint
        #expect(claire.certificates.map(\.sha256) == [onRecord, String(repeating: "ab", count: 32)])
        #expect(claire.certificates.map(\.current) == [true, false])
        #expect(claire.certificates.map(\.entries) == [3, 1])

        let sam = try #require(r.operators.first { $0.operator == "sam" })
        #expect(sam.byKind == ["operator-management": 2])
        #expect(Set(sam.actions.map(\.action)) == ["operator-suspended", "operator-removed"])
        #expect(sam.refusals.isEmpty)
        #expect(try s.o.gateway.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func localAndLegacyAdminEntriesAreListedOneByOne() throws {
        let s = try Scenario()
        let r = try s.review()
        // The shell's additions at day 116 are before the month.
        #expect(r.localActions.map(\.action) == ["partner-suspended", "audit-exported"])
        let local = r.localActions[0]
        #expect(local.kind == .local)
        #expect(local.actor == "local:uid=1000(test)")
        #expect(local.uid == 1000)
        #expect(local.account == "test")
        #expect(local.partner == "st-marys-hospital")
        #expect(local.time == s.time(14))
        #expect(local.subject == "break-glass test")
        let legacy = r.localActions[1]
        #expect(legacy.kind == .legacyAdmin)
        #expect(legacy.actor == "admin:olduser")
        #expect(legacy.account == "olduser")
        #expect(legacy.uid == nil)
        #expect(r.localActions[0].sequence < r.localActions[1].sequence)

        let md = try r.rendered(as: .md)
        #expect(md.contains("## Local actions (break-glass)"))
        #expect(md.contains("| admin:olduser (legacy) | audit-exported | success |"))
        #expect(md.contains("| local:uid=1000(test) | partner-suspended | success | partner st-marys-hospital; break-glass test |"))
    }

    @Test func grantsReviewSaysWhoGaveEachRightAndFlagsOnesUnusedFor90Days() throws {
        let s = try Scenario()
        let r = try s.review()
        let g = r.grantsReview
        #expect(g.reviewedAt == AuditTime.format(s.month.end))
        #expect(g.unusedDays == 90)
        #expect(g.operators.map(\.operator) == ["claire", "pat", "rex", "sam"])
        func right(_ op: String, _ right: String) throws -> GrantUse {
            try #require(g.operators.first { $0.operator == op }?.rights.first { $0.right == right })
        }
        let shell = OperatorFixture.shell.actor.description

        // pat: partner-admin from the shell, last used 89 days before the end: kept.
        let admin = try right("pat", "partner-admin")
        #expect(admin.grantedBy == shell)
        #expect(admin.grantedAt == s.time(116))
        #expect(admin.lastUsed == s.time(89))
        #expect(admin.lastUsedAction == "partner-resumed")
        #expect(admin.idleDays == 89)
        #expect(!admin.unused)
        // auditor, granted by sam 91 days before the end and never used: flagged.
        let auditor = try right("pat", "auditor")
        #expect(auditor.grantedBy == s.sam.actor.description)
        #expect(auditor.grantedAt == s.time(91))
        #expect(auditor.lastUsed == nil)
        #expect(auditor.idleDays == 91)
        #expect(auditor.unused)
        let pat = try #require(g.operators.first { $0.operator == "pat" })
        #expect(pat.lastAction == s.time(89))
        #expect(pat.allPartners)

        // claire (suspended): her role was used in the month, her grant never.
        let claire = try #require(g.operators.first { $0.operator == "claire" })
        #expect(claire.state == "suspended")
        #expect(try right("claire", "claims-operator").lastUsed == s.time(20))
        #expect(try !right("claire", "claims-operator").unused)
        #expect(try right("claire", "inbox-export").kind == .grant)
        #expect(try right("claire", "inbox-export").unused)
        // rex was removed: listed as such, never flagged.
        let rex = try #require(g.operators.first { $0.operator == "rex" })
        #expect(rex.state == "removed")
        #expect(try !right("rex", "auditor").unused)
        #expect(try right("rex", "auditor").idleDays == 116)
        // sam used security-officer in the month.
        #expect(try right("sam", "security-officer").lastUsed == s.time(15))
        #expect(r.unusedGrants == 2)

        let md = try r.rendered(as: .md)
        #expect(md.contains("| pat | active | * | auditor | operator:sam (sha256 "))
        #expect(md.contains("2 rights are flagged unused."))
        let csv = try r.rendered(as: .csv)
        #expect(csv.contains("\n,grant,pat/auditor,91,role; active; granted by \(s.sam.actor.description) at \(s.time(91)); last used never; unused\n"))
        #expect(csv.contains("\n,local-action,"))
        #expect(csv.contains("\n,operator-refusals,claire/operator-refused/role-missing,1,partner-suspend\n"))
    }

    @Test func aRightRevokedAndGivenAgainIsOwedToTheLaterGrant() throws {
        let s = try Scenario()
        s.at(12)
        try s.o.add("dana", [.claimsOperator], grants: [.inboxExport])
        s.at(11)
        try s.o.gateway.revokeOperator("dana", .role(.claimsOperator), by: s.sam)   // inbox-export goes with it
        s.at(10)
        try s.o.gateway.grantOperator("dana", .role(.claimsOperator), by: s.sam)
        s.at(-1)
        let dana = try #require(try s.review().grantsReview.operators.first { $0.operator == "dana" })
        #expect(dana.rights.map(\.right) == ["claims-operator"])
        #expect(dana.rights[0].grantedBy == s.sam.actor.description)
        #expect(dana.rights[0].grantedAt == s.time(10))
        #expect(dana.rights[0].idleDays == 10)
    }

    @Test func theJSONCarriesTheStaffSections() throws {
        let s = try Scenario()
        let json = try s.review().rendered(as: .json)
        let top = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((top["rules"] as? [String: Any])?["unused_grant_days"] as? Int == 90)

        let operators = try #require(top["operators"] as? [[String: Any]])
        let claire = try #require(operators.first { $0["operator"] as? String == "claire" })
        #expect(Set(claire.keys) == ["operator", "state", "entries", "first_time", "last_time", "first_sequence", "last_sequence",
                                     "by_kind", "actions", "refusals", "certificates"])
        #expect((claire["by_kind"] as? [String: Int]) == ["send": 1])
        let refusal = try #require((claire["refusals"] as? [[String: Any]])?.first)
        #expect(Set(refusal.keys) == ["action", "reason", "refused_action", "count"])
        let certificate = try #require((claire["certificates"] as? [[String: Any]])?.first)
        #expect(Set(certificate.keys) == ["sha256", "entries", "first_time", "last_time", "current"])

        let local = try #require(top["local_actions"] as? [[String: Any]])
        #expect(local.map { $0["kind"] as? String } == ["local", "legacy-admin"])
        #expect(local[0]["uid"] as? Int == 1000)
        #expect(local[0]["account"] as? String == "test")

        let grants = try #require(top["grants_review"] as? [String: Any])
        #expect(Set(grants.keys) == ["reviewed_at", "unused_days", "last_use_basis", "operators"])
        #expect(grants["last_use_basis"] as? String == "per-right-with-reads")
        let pat = try #require((grants["operators"] as? [[String: Any]])?.first { $0["operator"] as? String == "pat" })
        #expect(pat["all_partners"] as? Bool == true)
        #expect(pat["certificate_sha256"] as? String != nil)
        let auditor = try #require((pat["rights"] as? [[String: Any]])?.first { $0["right"] as? String == "auditor" })
        #expect(auditor["kind"] as? String == "role")
        #expect(auditor["unused"] as? Bool == true)
        #expect(auditor["idle_days"] as? Int == 91)
        #expect(auditor["granted_by"] as? String == s.sam.actor.description)
        #expect(auditor["last_used"] == nil)
    }

    @Test func aPartnerFilterKeepsItsEntriesAndTheOperatorsScopedToIt() throws {
        let s = try Scenario()
        s.at(12)
        try s.o.add("nora", [.partnerAdmin], partners: ["st-marys-hospital"])
        s.at(-1)
        let r = try s.o.gateway.accessReview(month: s.month, partner: PartnerID(stored: "acme-assessors"))
        // claire's send and refusals name acme-assessors; sam's operator changes, the shell's
        // suspension of st-marys-hospital and the admin: entry do not.
        #expect(r.operators.map(\.operator) == ["claire"])
        #expect(r.operators.first?.actions.map(\.action) == ["queue"])
        #expect(r.localActions.isEmpty)
        #expect(!r.grantsReview.operators.map(\.operator).contains("nora"))
        #expect(r.grantsReview.operators.map(\.operator) == ["claire", "pat", "rex", "sam"])
    }
}
