import ClaimGateCore
import Foundation
import Testing

/// Operator names, roles, grants, how the audit trail names who acted, and the operator policy
/// with the clock pinned.
@Suite struct OperatorValuesTests {
    @Test(arguments: ["a", "alice", "alice.smith", "ops_2", "a-b", String(repeating: "x", count: 64)])
    func validOperatorNames(_ name: String) throws {
        #expect(try OperatorID(name).rawValue == name)
    }

    @Test(arguments: ["", "Alice", "1alice", "-alice", ".alice", "_a", "al ice", "al/ice", "alïce", "a\n", String(repeating: "x", count: 65)])
    func invalidOperatorNames(_ name: String) {
        let e = #expect(throws: ClaimGateError.self) { try OperatorID(name) }
        #expect(e?.code == .invalidArgument)
    }

    @Test func rolesAndRightsParse() throws {
        #expect(try Role.parseList("auditor,claims-operator") == [.auditor, .claimsOperator])
        #expect(throws: ClaimGateError.self) { try Role.parseList("admin") }
        #expect(throws: ClaimGateError.self) { try Role.parseList("auditor,") }
        #expect(try OperatorRight(parsing: "inbox-export") == .grant(.inboxExport))
        #expect(try OperatorRight(parsing: "security-officer") == .role(.securityOfficer))
        #expect(throws: ClaimGateError.self) { try OperatorRight(parsing: "root") }
    }

    @Test func actorsAreNamedTruthfullyAndReadBack() throws {
        let fp = String(repeating: "0f", count: 32)
        let cases: [(Actor, String)] = [
            (.local(uid: 1000, name: "alice"), "local:uid=1000(alice)"),
            (.local(uid: 4242, name: nil), "local:uid=4242"),
            (.operator(try OperatorID("claire"), fingerprint: fp), "operator:claire;sha256=\(fp)"),
            (.scheduled(.purge), "system:purge"),
            (.system, "system"),
            (.partner(try PartnerID("acme-assessors")), "partner:acme-assessors"),
            (.admin("bob"), "admin:bob"),
        ]
        for (actor, text) in cases {
            #expect(actor.description == text)
            #expect(Actor(recorded: text) == actor, "\(text)")
        }
        #expect(Actor(recorded: "operator:claire") == nil)
        #expect(Actor(recorded: "local:alice") == nil)
        #expect(Principal.scheduled(.purge).actor.description == "system:purge")
        // A fingerprint is kept in lowercase, so one certificate is always one actor.
        #expect(Principal.operator(try OperatorID("c"), fingerprint: fp.uppercased()).actor.description == "operator:c;sha256=\(fp)")
    }

    @Test func fingerprintsPrintAsOpenSSLPrintsThem() {
        let c = OperatorCertificate(fingerprint: "ab01" + String(repeating: "00", count: 30), serial: "01", notAfter: Date())
        #expect(c.openSSLFingerprint == "sha256 Fingerprint=AB:01:" + Array(repeating: "00", count: 30).joined(separator: ":"))
    }

    @Test func thePolicyChecksStandingThenRoleThenScope() throws {
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        struct Pinned: WallClock { let now: Date }
        let fp = String(repeating: "aa", count: 32)
        let acme = try PartnerID("acme-assessors"), other = try PartnerID("st-marys-hospital")
        var op = Operator(id: try OperatorID("claire"), roles: [.claimsOperator], partners: [acme],
                          certificate: OperatorCertificate(fingerprint: fp, serial: "1", notAfter: now.addingTimeInterval(60)),
                          createdBy: "local:uid=0(root)", createdAt: now)
        func reason(_ action: OperatorAction, _ partner: PartnerID?, fingerprint: String = fp, at time: Date = now) -> Refusal.Reason? {
            let r = OperatorPolicy(clock: Pinned(now: time)).evaluate(
                OperatorRequest(operatorID: op.id, fingerprint: fingerprint, stored: op, action: action, partner: partner))
            if case .fails(let refusal) = r { return refusal.reason }
            return nil
        }
        #expect(reason(.seal, acme) == nil)
        #expect(reason(.seal, other) == .partnerOutOfScope)
        #expect(reason(.purge, nil) == .roleMissing)
        #expect(reason(.bundleList, nil) == nil)   // a listing: narrowed to the scope by the operation
        #expect(reason(.bundleList, other) == .partnerOutOfScope)
        op.roles.insert(.auditor)
        #expect(reason(.auditVerify, nil) == .partnerOutOfScope)
        #expect(reason(.auditReport, acme) == nil)
        #expect(reason(.operatorList, nil) == .partnerOutOfScope)
        op.roles.remove(.auditor)
        #expect(reason(.identityShow, nil) == nil)
        #expect(reason(.partnerSuspend, acme) == .roleMissing)
        #expect(reason(.partnerSuspend, other) == .roleMissing)   // the role first, then the scope
        #expect(reason(.seal, acme, fingerprint: String(repeating: "bb", count: 32)) == .operatorCertificateMismatch)
        #expect(reason(.seal, acme, fingerprint: fp.uppercased()) == nil)
        #expect(reason(.seal, acme, at: now.addingTimeInterval(61)) == .certificateNotValid)
        #expect(reason(.inboxExport, acme) == .roleMissing)
        op.grants = [.inboxExport]
        #expect(reason(.inboxExport, acme) == nil)
        op.state = .suspended
        #expect(reason(.seal, acme) == .operatorSuspended)
        op.state = .removed
        #expect(reason(.seal, acme) == .operatorRemoved)
        let unknown = OperatorPolicy(clock: Pinned(now: now)).evaluate(
            OperatorRequest(operatorID: op.id, fingerprint: fp, stored: nil, action: .seal, partner: acme))
        guard case .fails(let r) = unknown else { Issue.record("an unknown operator was allowed"); return }
        #expect(r.reason == .unknownOperator)
    }
}
