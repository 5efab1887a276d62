import Audit
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Store
import Testing

/// The grants review counts reads: `authorize` notes each allowed action as a use of the rights
/// that allow it (no audit entry), at most once a minute per operator and right, never from a
/// read-only gateway; the review takes the later of that and the trail's entries.
@Suite struct GrantUseTests {
    final class Scenario: @unchecked Sendable {
        let clock = ManualClock(Date())
        let month = ReportMonth(containing: Date().addingTimeInterval(120 * 86_400))
        let o: OperatorFixture
        /// Now = `days` before the month's end (negative: after it).
        func at(_ days: Double) { clock.now = month.end.addingTimeInterval(-days * 86_400) }
        func time(_ days: Double) -> String { AuditTime.format(month.end.addingTimeInterval(-days * 86_400)) }
        init() throws { o = try OperatorFixture(clock: clock) }

        func rights(_ name: String) throws -> [String: GrantUse] {
            at(-4)
            let review = try o.gateway.accessReview(month: month)
            let op = try #require(review.grantsReview.operators.first { $0.operator == name })
            return Dictionary(uniqueKeysWithValues: op.rights.map { ($0.right, $0) })
        }
    }

    @Test func anAuditorThatOnlyReadsIsNotFlaggedAndOneIdleFor91DaysIs() throws {
        let s = try Scenario()
        s.at(120)
        let rita = try s.o.add("rita", [.auditor])
        let una = try s.o.add("una", [.auditor])
        try s.o.add("ida", [.auditor])
        let entries = try s.o.gateway.store.events().count

        s.at(91)
        _ = try s.o.gateway.bundles(by: una)
        s.at(89)
        _ = try s.o.gateway.verifyAuditTrail(by: rita)
        _ = try s.o.gateway.partners(by: rita)   // every role may: uses no right
        #expect(try s.o.gateway.store.events().count == entries)   // reads write no audit entry

        let r = try s.rights("rita")["auditor"]
        #expect(r?.lastUsed == s.time(89))
        #expect(r?.lastUsedAction == "audit-verify")
        #expect(r?.lastUsedSequence == nil)
        #expect(r?.idleDays == 89)
        #expect(r?.unused == false)
        let u = try s.rights("una")["auditor"]
        #expect(u?.lastUsed == s.time(91))
        #expect(u?.lastUsedAction == "bundle-list")
        #expect(u?.idleDays == 91)
        #expect(u?.unused == true)
        #expect(try s.rights("ida")["auditor"]?.unused == true)
    }

    @Test func aReviewOfAPastMonthUsesTheLastUseBeforeItsEnd() throws {
        let s = try Scenario()
        s.at(120)
        let rita = try s.o.add("rita", [.auditor, .claimsOperator])
        s.at(10)
        _ = try s.o.gateway.inboundReports(by: rita)
        s.at(-2)   // in the next month, before the report is generated
        _ = try s.o.gateway.inboundReports(by: rita)
        let rights = try s.rights("rita")
        // inbox list is allowed by both roles it holds: a use of each.
        #expect(rights["auditor"]?.lastUsed == s.time(10))
        #expect(rights["claims-operator"]?.lastUsed == s.time(10))
        #expect(rights["auditor"]?.lastUsedAction == "inbox-list")
    }

    @Test func usesAreCoalescedPerMinuteAndAReadOnlyGatewayNotesNone() throws {
        let s = try Scenario()
        s.at(30)
        let rita = try s.o.add("rita", [.auditor])
        let start = s.clock.now
        func noted() throws -> [String] {
            try s.o.gateway.store.flush()
            return try s.o.gateway.store.rightUses(before: "9999").filter { $0.operatorName == "rita" }.map(\.time)
        }
        _ = try s.o.gateway.bundles(by: rita)
        s.clock.now = start.addingTimeInterval(30)
        _ = try s.o.gateway.bundles(by: rita)
        #expect(try noted() == [AuditTime.format(start)])
        s.clock.now = start.addingTimeInterval(61)
        _ = try s.o.gateway.bundles(by: rita)
        #expect(try noted() == [AuditTime.format(start.addingTimeInterval(61))])

        let readOnly = try Gateway.openReadOnly(home: s.o.gateway.home, clock: s.clock)
        s.clock.now = start.addingTimeInterval(3600)
        _ = try readOnly.bundles(by: rita)
        #expect(try noted() == [AuditTime.format(start.addingTimeInterval(61))])
    }
}
