import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Testing

/// The role table of docs/operators.md, written out here on its own (not read from `Role`), and
/// every role against every action through the gateway's operations, with a real store.
@Suite struct OperatorRoleTableTests {
    /// Who is asked: each role alone, and a claims operator with the grant inbox-export.
    enum Profile: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case claimsOperator, claimsOperatorWithExport, partnerAdmin, auditor, securityOfficer
        var testDescription: String { rawValue }
    }

    static let everyone: Set<OperatorAction> = [.partnerList, .partnerShow, .identityShow]
    static let claims: Set<OperatorAction> = everyone.union([.seal, .send, .bundleList, .bundleShow, .deliveriesView, .inboxList, .inboxShow])

    /// What each profile may do; everything else is refused with `role-missing`.
    static let allowed: [Profile: Set<OperatorAction>] = [
        .claimsOperator: claims,
        .claimsOperatorWithExport: claims.union([.inboxExport]),
        .partnerAdmin: everyone.union([.partnerAdd, .partnerUpdate, .partnerSuspend, .partnerResume, .partnerRemove, .partnerRotate,
                                       .bundleRecall, .bundleList, .bundleShow, .deliveriesView, .deliveryRetry, .deliveryCancel,
                                       .pendingList]),
        .auditor: everyone.union([.auditVerify, .auditExport, .auditReport, .auditImpact, .bundleList, .bundleShow, .deliveriesView,
                                  .inboxList, .inboxShow, .operatorList, .operatorShow, .pendingList]),
        .securityOfficer: everyone.union([.operatorAdd, .operatorSuspend, .operatorResume, .operatorRemove, .operatorGrant,
                                          .operatorRevoke, .operatorList, .operatorShow, .operatorCredentials, .doctor, .purge,
                                          .pendingList]),
    ]

    /// One gateway for the whole table, with one operator per profile.
    final class Shared: @unchecked Sendable {
        static let shared = try! Shared()
        let fixture: OperatorFixture
        let principals: [Profile: Principal]
        init() throws {
            fixture = try OperatorFixture()
            var p: [Profile: Principal] = [:]
            p[.claimsOperator] = try fixture.add("claims", [.claimsOperator])
            p[.claimsOperatorWithExport] = try fixture.add("claims-export", [.claimsOperator], grants: [.inboxExport])
            p[.partnerAdmin] = try fixture.add("partners", [.partnerAdmin])
            p[.auditor] = try fixture.add("audit", [.auditor])
            p[.securityOfficer] = try fixture.add("security", [.securityOfficer])
            principals = p
        }
    }

    @Test(arguments: Profile.allCases, OperatorAction.allCases)
    func roleTable(_ profile: Profile, _ action: OperatorAction) throws {
        let s = Shared.shared
        let who = try #require(s.principals[profile])
        let partner = try PartnerID("acme-assessors")
        if try #require(Self.allowed[profile]).contains(action) {
            try s.fixture.gateway.authorize(action, partner: partner, by: who)
        } else {
            let e = #expect(throws: ClaimGateError.self) { try s.fixture.gateway.authorize(action, partner: partner, by: who) }
            #expect(e?.code == .notPermitted)
            #expect(e?.refusal == .roleMissing)
            // Recorded once, with the action as subject, attributed to the operator.
            let recorded = try s.fixture.refusals(of: who).filter { $0.subject == action.rawValue }
            #expect(recorded.count == 1)
            #expect(recorded.first?.code == "role-missing")
        }
    }

    @Test func theTableInTheTestIsTheTableInTheCode() {
        for profile in Profile.allCases {
            let role: Role = switch profile {
            case .claimsOperator, .claimsOperatorWithExport: .claimsOperator
            case .partnerAdmin: .partnerAdmin
            case .auditor: .auditor
            case .securityOfficer: .securityOfficer
            }
            let grants: Set<OperatorGrant> = profile == .claimsOperatorWithExport ? [.inboxExport] : []
            let code = Set(OperatorAction.allCases.filter { role.allows($0, grants: grants) })
            #expect(code == Self.allowed[profile], "\(profile)")
        }
    }
}
