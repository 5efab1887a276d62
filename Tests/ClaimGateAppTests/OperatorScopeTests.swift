import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Store
import Testing

/// An operator scoped to some partners (`operator add --partners`): listings of every partner
/// show it only its partners' rows; a listing of a partner out of its scope, named, is refused
/// and recorded; actions that necessarily reach every partner stay refused (docs/operators.md).
@Suite struct OperatorScopeTests {
    static let shell = OperatorFixture.shell
    static let acme = "acme-assessors", stMarys = "st-marys-hospital"
    static let push = "delivery:\n  push:\n    sftp: {host: 127.0.0.1, port: 1, user: u, path: /in, host_key: \"SHA256:\(String(repeating: "A", count: 43))\"}"

    /// Two partners that receive pushes, one bundle (and so one delivery) and one inbound report each.
    final class Fixture: @unchecked Sendable {
        let f: GatewayFixture
        var gateway: Gateway { f.gateway }

        init() throws {
            f = try GatewayFixture()
            for id in [OperatorScopeTests.acme, OperatorScopeTests.stMarys] {
                try f.gateway.addPartner(agreementFile: try f.agreement(id: id, extra: OperatorScopeTests.push), by: OperatorScopeTests.shell)
                _ = try f.gateway.seal(f.order(id, documents: [try f.document("\(id).pdf")]), to: .outbox, by: OperatorScopeTests.shell)
                let partner = try PartnerID(id)
                try f.gateway.store.insertInbound(
                    InboundReport(id: UUID(), partnerID: partner, fileName: "\(id).p7m", received: Date(), bytes: 1, state: .quarantined,
                                  reason: "test", transport: .sftp, storedPath: f.dir.path + "/nowhere"),
                    event: TransferEvent(time: Date(), actor: .partner(partner), action: .inboundQuarantined, outcome: .refused, partnerID: partner, transport: .sftp))
            }
        }

        @discardableResult
        func add(_ name: String, _ roles: Set<Role>, partners: [String]? = nil) throws -> Principal {
            let issued = try gateway.addOperator(name, roles: roles, partners: partners, by: OperatorScopeTests.shell).requireApplied()
            return .operator(issued.operator.id, fingerprint: issued.operator.certificate.fingerprint)
        }

        /// The last entry is `principal`'s refusal of `action` on `partner` for its scope.
        func expectRefusalRecorded(_ principal: Principal, _ action: OperatorAction, partner: String?) throws {
            let last = try #require(try gateway.store.events().last)
            #expect(last.action == "operator-refused")
            #expect(last.actor == principal.actor.description)
            #expect(last.reasonCode == "partner-out-of-scope")
            #expect(last.subject == action.rawValue)
            #expect(last.partnerID == partner)
        }
    }

    static func expectOutOfScope(_ body: () throws -> Void) {
        let e = #expect(throws: ClaimGateError.self) { try body() }
        #expect(e?.code == .notPermitted)
        #expect(e?.refusal == .partnerOutOfScope)
    }

    @Test func bundleListShowsTheScopesBundlesOnly() throws {
        let o = try Fixture()
        let claire = try o.add("claire", [.claimsOperator], partners: [Self.acme])
        let everyone = try o.add("carl", [.claimsOperator])
        #expect(try o.gateway.bundles(by: everyone).count == 2)
        let mine = try o.gateway.bundles(by: claire)
        #expect(mine.map(\.partnerID.rawValue) == [Self.acme])
        #expect(try o.gateway.bundles(partner: Self.acme, by: claire).count == 1)
        Self.expectOutOfScope { _ = try o.gateway.bundles(partner: Self.stMarys, by: claire) }
        try o.expectRefusalRecorded(claire, .bundleList, partner: Self.stMarys)
        // A partner the gateway does not know is out of the scope too; to an operator without a
        // scope, it is unknown.
        Self.expectOutOfScope { _ = try o.gateway.bundles(partner: "no-such-partner", by: claire) }
        #expect((#expect(throws: ClaimGateError.self) { _ = try o.gateway.bundles(partner: "no-such-partner", by: everyone) })?.code == .unknownPartner)
    }

    @Test func deliveriesShowTheScopesDeliveriesOnly() throws {
        let o = try Fixture()
        let pat = try o.add("pat", [.partnerAdmin], partners: [Self.acme])
        #expect(try o.gateway.deliveries(by: .system).count == 2)
        #expect(try o.gateway.deliveries(by: pat).map(\.partnerID.rawValue) == [Self.acme])
        #expect(try o.gateway.deliveries(state: .pending, partner: Self.acme, by: pat).count == 1)
        Self.expectOutOfScope { _ = try o.gateway.deliveries(partner: Self.stMarys, by: pat) }
        try o.expectRefusalRecorded(pat, .deliveriesView, partner: Self.stMarys)
    }

    @Test func inboxListShowsTheScopesReportsOnly() throws {
        let o = try Fixture()
        let audrey = try o.add("audrey", [.auditor], partners: [Self.stMarys])
        #expect(try o.gateway.inboundReports(by: .system).count == 2)
        #expect(try o.gateway.inboundReports(by: audrey).map(\.partnerID.rawValue) == [Self.stMarys])
        #expect(try o.gateway.inboundReports(partner: Self.stMarys, by: audrey).count == 1)
        Self.expectOutOfScope { _ = try o.gateway.inboundReports(partner: Self.acme, by: audrey) }
        try o.expectRefusalRecorded(audrey, .inboxList, partner: Self.acme)
    }

    @Test func partnerListShowsTheScopesPartnersOnly() throws {
        let o = try Fixture()
        let claire = try o.add("claire", [.claimsOperator], partners: [Self.acme])
        #expect(try o.gateway.partners(by: .system).count == 2)
        #expect(try o.gateway.partners(by: claire).map(\.id.rawValue) == [Self.acme])
        #expect(try o.gateway.partner(Self.acme, by: claire).id.rawValue == Self.acme)
        Self.expectOutOfScope { _ = try o.gateway.partner(Self.stMarys, by: claire) }
        try o.expectRefusalRecorded(claire, .partnerShow, partner: Self.stMarys)
    }

    @Test func pendingChangesShowTheScopesChangesOnly() throws {
        let o = try Fixture()
        let ann = try o.add("ann", [.partnerAdmin])
        try o.add("bob", [.partnerAdmin])
        let pam = try o.add("pam", [.partnerAdmin], partners: [Self.acme])
        let toAcme = try #require(try o.gateway.removePartner(Self.acme, force: true, reason: nil, by: ann).pendingChange)
        let toStMarys = try #require(try o.gateway.removePartner(Self.stMarys, force: true, reason: nil, by: ann).pendingChange)
        #expect(try o.gateway.pendingChanges(by: ann).map(\.id).sorted() == [toAcme.id, toStMarys.id].sorted())
        #expect(try o.gateway.pendingChanges(by: pam).map(\.id) == [toAcme.id])
        #expect(try o.gateway.previewChange(toAcme.id.rawValue, by: pam).change.id == toAcme.id)
        Self.expectOutOfScope { _ = try o.gateway.previewChange(toStMarys.id.rawValue, by: pam) }
        try o.expectRefusalRecorded(pam, .pendingList, partner: Self.stMarys)
    }

    @Test func actionsOnEveryPartnerStayRefused() throws {
        let o = try Fixture()
        let audrey = try o.add("audrey", [.auditor], partners: [Self.acme])
        let sam = try o.add("sam", [.securityOfficer], partners: [Self.acme])
        let month = ReportMonth(containing: Date())
        Self.expectOutOfScope { _ = try o.gateway.verifyAuditTrail(by: audrey) }
        try o.expectRefusalRecorded(audrey, .auditVerify, partner: nil)
        Self.expectOutOfScope { try o.gateway.exportAuditTrail(to: o.f.dir.path + "/export.jsonl", by: audrey) }
        Self.expectOutOfScope { _ = try o.gateway.auditReport(month: month, by: audrey) }
        Self.expectOutOfScope { _ = try o.gateway.operators(by: audrey) }
        Self.expectOutOfScope { _ = try o.gateway.purge(by: sam) }
        Self.expectOutOfScope { _ = try o.gateway.doctor(withinDays: 30, by: sam) }
        Self.expectOutOfScope { _ = try o.gateway.addOperator("x", roles: [.auditor], by: sam) }
        try o.expectRefusalRecorded(sam, .operatorAdd, partner: nil)
        // A report or an impact of one partner in the scope is allowed; of another, refused.
        #expect(try o.gateway.auditReport(month: month, partner: Self.acme, by: audrey).partnerFilter == Self.acme)
        Self.expectOutOfScope { _ = try o.gateway.auditReport(month: month, partner: Self.stMarys, by: audrey) }
        try o.expectRefusalRecorded(audrey, .auditReport, partner: Self.stMarys)
        _ = try o.gateway.auditImpact(ImpactQuery(partner: try PartnerID(Self.acme)), format: .json, by: audrey) { _ in }
        Self.expectOutOfScope { _ = try o.gateway.auditImpact(ImpactQuery(partner: try PartnerID(Self.stMarys)), format: .json, by: audrey) { _ in } }
        Self.expectOutOfScope { _ = try o.gateway.auditImpact(ImpactQuery(claim: "CLM-2026-1"), format: .json, by: audrey) { _ in } }
        #expect(!FileManager.default.fileExists(atPath: o.f.dir.path + "/export.jsonl"))
    }
}
