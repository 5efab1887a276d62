import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Operations
import Store
import Testing

/// Four eyes through the gateway's operations, with a real store and the clock injected:
/// changes to agreements wait for a second partner admin once there are two, granting
/// security-officer waits for a second security officer, the proposer cannot approve, a change
/// expires after 7 days, an approval checks everything again and applies exactly what was
/// proposed, and every step is in an audit trail that still verifies.
@Suite struct FourEyesTests {
    static let shell = OperatorFixture.shell

    /// A gateway (acme-assessors and st-marys-hospital onboarded) with two partner admins.
    struct Setup {
        let o: OperatorFixture
        let clock: ManualClock
        let pat: Principal
        let quinn: Principal
        var g: Gateway { o.gateway }

        init(admins: Int = 2) throws {
            clock = ManualClock(Timestamp.wholeSeconds(Date()))
            o = try OperatorFixture(clock: clock)
            pat = try o.add("pat", [.partnerAdmin])
            quinn = admins > 1 ? try o.add("quinn", [.partnerAdmin]) : .system
        }

        func events(_ action: String) throws -> [StoredEvent] { try g.store.events().filter { $0.action == action } }
    }

    static func proposed<T>(_ outcome: ChangeOutcome<T>, sourceLocation: SourceLocation = #_sourceLocation) throws -> PendingChange {
        try #require(outcome.pendingChange, "the change was applied at once", sourceLocation: sourceLocation)
    }

    @Test func anUpdateWaitsAndIsAppliedExactlyAsProposedWhenASecondAdminApproves() throws {
        let s = try Setup()
        let file = try s.o.f.agreement(purposes: "[claim-assessment]", extra: "delivery: {pull: [sftp]}")
        let expected = try AgreementLoader.load(path: file, clock: s.clock).0
        let before = try s.g.partner("acme-assessors")

        let change = try Self.proposed(s.g.updatePartner(agreementFile: file, by: s.pat))
        #expect(change.action == .partnerUpdate && change.partner?.rawValue == "acme-assessors" && change.state == .pending)
        #expect(change.expires == s.clock.now.addingTimeInterval(7 * 86_400))
        #expect(try s.g.partner("acme-assessors").version == before.version)
        // The approval reads nothing from the proposer's paths: the file may be gone, or say something else.
        try "id: acme-assessors\nname: Something Else\n".write(toFile: file, atomically: true, encoding: .utf8)

        let preview = try s.g.previewChange(change.id.rawValue, by: s.quinn)
        #expect(preview.blocked == nil)
        #expect(preview.details.contains("agreement.purposes: claim-assessment, fraud-review -> claim-assessment"))
        #expect(preview.details.contains("delivery.pull: - -> sftp"))
        #expect(!preview.details.contains { $0.hasPrefix("certificates.encryption") })

        s.clock.now += 3600
        let (settled, applied) = try s.g.approveChange(change.id.rawValue, by: s.quinn)
        #expect(settled.state == .approved && settled.settledBy == s.quinn.actor.description)
        guard case .partner(let p) = applied else { Issue.record("not a partner change"); return }
        #expect(p.version == before.version + 1)
        let now = try s.g.partner("acme-assessors")
        #expect(now.agreement == expected)
        #expect(now.version == before.version + 1)
        #expect(try s.g.store.pendingChange(change.id)?.state == .approved)

        // Attributed to both: proposed by pat, approved and applied by quinn, naming pat.
        let proposedEntry = try #require(try s.events("change-proposed").last)
        #expect(proposedEntry.actor == s.pat.actor.description)
        #expect(proposedEntry.reasonCode == "pending-change")
        #expect(proposedEntry.subject?.hasPrefix("\(change.id) partner-update acme-assessors") == true)
        let approvedEntry = try #require(try s.events("change-approved").last)
        #expect(approvedEntry.actor == s.quinn.actor.description)
        #expect(approvedEntry.subject?.contains("proposed by \(s.pat.actor)") == true)
        let updated = try #require(try s.events("partner-updated").last)
        #expect(updated.actor == s.quinn.actor.description)
        #expect(updated.subject == "terms,delivery; change \(change.id) proposed by operator:pat")
        #expect(approvedEntry.sequence + 1 == updated.sequence)

        // Once only.
        let again = #expect(throws: ClaimGateError.self) { try s.g.approveChange(change.id.rawValue, by: s.quinn) }
        #expect(again?.code == .changeNotPending)
        #expect(try s.g.partner("acme-assessors").version == before.version + 1)
        try s.g.sealAuditTrail()
        #expect(try s.g.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func theProposerCannotApproveItsOwnChangeAndTheRefusalIsRecorded() throws {
        let s = try Setup()
        let change = try Self.proposed(s.g.removePartner("st-marys-hospital", force: false, reason: "contract ended", by: s.pat))
        let e = #expect(throws: ClaimGateError.self) { try s.g.approveChange(change.id.rawValue, by: s.pat) }
        #expect(e?.code == .notPermitted)
        #expect(e?.refusal == .selfApproval)
        #expect(e?.message.contains("different operator") == true)
        let refused = try #require(try s.events("change-refused").last)
        #expect(refused.actor == s.pat.actor.description && refused.reasonCode == "self-approval" && refused.outcome == "refused")
        #expect(refused.subject == change.label)
        #expect(try s.g.store.pendingChange(change.id)?.state == .pending)
        #expect(try s.g.partner("st-marys-hospital").status == .active)

        // Another certificate for the same operator is the same person: the name decides.
        guard case .operator(let id, _) = s.pat else { Issue.record("not an operator"); return }
        #expect(SecondPerson().evaluate(ApprovalRequest(change: change, approver: .operator(id, fingerprint: String(repeating: "0", count: 64))))
                != .meets)

        _ = try s.g.approveChange(change.id.rawValue, by: s.quinn)
        #expect(try s.g.partner("st-marys-hospital").status == .removed)
        let removed = try #require(try s.events("partner-removed").last)
        #expect(removed.actor == s.quinn.actor.description)
        #expect(removed.subject == "contract ended; change \(change.id) proposed by operator:pat")
        #expect(try s.g.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func aChangeExpiresAfterSevenDaysAndCannotBeApprovedThen() throws {
        let s = try Setup()
        let change = try Self.proposed(s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "20"), by: s.pat))
        let other = try Self.proposed(s.g.removePartner("st-marys-hospital", force: false, reason: nil, by: s.pat))

        s.clock.now += 7 * 86_400 - 1
        #expect(try s.g.previewChange(change.id.rawValue, by: s.quinn).blocked == nil)
        s.clock.now += 1
        #expect(try s.g.pendingChanges(by: s.quinn).map { $0.state(at: s.clock.now) } == [.expired, .expired])
        #expect(try s.g.previewChange(change.id.rawValue, by: s.quinn).blocked?.contains("expired") == true)

        let e = #expect(throws: ClaimGateError.self) { try s.g.approveChange(change.id.rawValue, by: s.quinn) }
        #expect(e?.code == .changeExpired)
        #expect(try s.g.store.pendingChange(change.id)?.state == .expired)
        let expired = try #require(try s.events("change-expired").last)
        #expect(expired.actor == "system" && expired.subject?.hasPrefix(change.label) == true)
        let refused = try #require(try s.events("change-refused").last)
        #expect(refused.actor == s.quinn.actor.description && refused.reasonCode == "change-expired")
        #expect(try s.g.partner("acme-assessors").agreement.terms.maxRetentionDays == 30)

        // Purge marks the others expired, each recorded once.
        let result = try s.g.purge(by: Self.shell)
        #expect(result.expiredChanges == [other.id])
        #expect(try s.g.purge(by: Self.shell).expiredChanges.isEmpty)
        #expect(try s.events("change-expired").count == 2)
        #expect(try s.g.partner("st-marys-hospital").status == .active)
        #expect(try s.g.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func withOnePartnerAdminInForceTheChangeAppliesAtOnce() throws {
        let s = try Setup(admins: 1)
        let updated = try s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "20"), by: s.pat)
        #expect(updated.appliedValue?.agreement.terms.maxRetentionDays == 20)
        // A suspended second admin does not count; a claims operator does not either.
        let quinn = try s.o.add("quinn", [.partnerAdmin])
        try s.o.add("claire", [.claimsOperator])
        try s.g.suspendOperator("quinn", by: Self.shell)
        #expect(try s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "21"), by: s.pat).appliedValue != nil)
        try s.g.resumeOperator("quinn", by: Self.shell)
        #expect(try s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "22"), by: quinn).pendingChange != nil)
        #expect(try s.g.partner("acme-assessors").agreement.terms.maxRetentionDays == 21)
        #expect(try s.events("change-proposed").count == 1)
    }

    @Test func theShellIsBreakGlassAndAttributedTruthfully() throws {
        let s = try Setup()
        // Its own change applies at once.
        #expect(try s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "20"), by: Self.shell).appliedValue != nil)
        // It may approve an operator's change, and the entry names both.
        let change = try Self.proposed(s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "25"), by: s.pat))
        _ = try s.g.approveChange(change.id.rawValue, by: Self.shell)
        #expect(try s.g.partner("acme-assessors").agreement.terms.maxRetentionDays == 25)
        let updated = try #require(try s.events("partner-updated").last)
        #expect(updated.actor == "local:uid=1000(test)")
        #expect(updated.subject?.hasSuffix("change \(change.id) proposed by operator:pat") == true)
    }

    @Test func approvalByAClaimsOperatorIsRefusedAsRoleMissing() throws {
        let s = try Setup()
        let claire = try s.o.add("claire", [.claimsOperator])
        let change = try Self.proposed(s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "20"), by: s.pat))
        let e = #expect(throws: ClaimGateError.self) { try s.g.approveChange(change.id.rawValue, by: claire) }
        #expect(e?.code == .notPermitted)
        #expect(e?.refusal == .roleMissing)
        #expect(try s.o.refusals(of: claire).map(\.code) == ["role-missing"])
        #expect(try s.o.refusals(of: claire).map(\.subject) == ["partner-update"])
        // Nor may it list or withdraw them.
        #expect(throws: ClaimGateError.self) { try s.g.pendingChanges(by: claire) }
        #expect(throws: ClaimGateError.self) { try s.g.withdrawChange(change.id.rawValue, by: claire) }
        #expect(try s.g.store.pendingChange(change.id)?.state == .pending)
        #expect(try s.g.partner("acme-assessors").agreement.terms.maxRetentionDays == 30)
    }

    @Test func anApprovalChecksAgainAgainstTheGatewayAsItStands() throws {
        let s = try Setup()
        // The partner was removed meanwhile.
        let update = try Self.proposed(s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "20"), by: s.pat))
        try s.g.removePartner("acme-assessors", force: true, reason: nil, by: Self.shell)
        let removed = #expect(throws: ClaimGateError.self) { try s.g.approveChange(update.id.rawValue, by: s.quinn) }
        #expect(removed?.message.contains("was removed after change \(update.id) was proposed") == true)
        let refused = try #require(try s.events("change-refused").last)
        #expect(refused.reasonCode == "invalid-argument" && refused.actor == s.quinn.actor.description)
        #expect(try s.g.store.pendingChange(update.id)?.state == .pending)

        // The agreement changed meanwhile: the change was proposed against another version.
        let stale = try Self.proposed(s.g.updatePartner(agreementFile: try s.o.f.agreement(id: "st-marys-hospital", retention: "20"), by: s.pat))
        try s.g.updatePartner(agreementFile: try s.o.f.agreement(id: "st-marys-hospital", retention: "10"), by: Self.shell)
        let outdated = #expect(throws: ClaimGateError.self) { try s.g.approveChange(stale.id.rawValue, by: s.quinn) }
        #expect(outdated?.code == .changeOutdated)
        #expect(try s.g.partner("st-marys-hospital").agreement.terms.maxRetentionDays == 10)

        // An onboarding whose id was taken meanwhile.
        let add = try Self.proposed(s.g.addPartner(agreementFile: try s.o.f.agreement(id: "new-assessors", pkiID: "acme-assessors"), by: s.pat))
        try s.g.addPartner(agreementFile: try s.o.f.agreement(id: "new-assessors", pkiID: "acme-assessors"), by: Self.shell)
        let taken = #expect(throws: ClaimGateError.self) { try s.g.approveChange(add.id.rawValue, by: s.quinn) }
        #expect(taken?.code == .partnerExists)
        #expect(try s.g.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func addRotateAndRemoveWaitThenApply() throws {
        let s = try Setup()
        let add = try Self.proposed(s.g.addPartner(agreementFile: try s.o.f.agreement(id: "new-assessors", pkiID: "acme-assessors"), by: s.pat))
        #expect(try s.g.store.partner(PartnerID("new-assessors")) == nil)
        #expect(try s.g.previewChange(add.id.rawValue, by: s.quinn).details.contains("agreement.reference: DSA-TEST-1"))
        _ = try s.g.approveChange(add.id.rawValue, by: s.quinn)
        #expect(try s.g.partner("new-assessors").version == 1)
        let onboarded = try #require(try s.events("partner-onboarded").last)
        #expect(onboarded.actor == s.quinn.actor.description && onboarded.reasonCode == "pending-change")

        // A rotation keeps the certificate as read when proposed.
        let key = try PrivateKey.generate(.p256)
        let cert = try CertificateIssuer.issue(CertificateProfile(commonName: "acme next", organization: "Test", keyUsage: "critical,keyAgreement",
                                                                  extendedKeyUsage: nil, notBefore: Date().addingTimeInterval(-3600),
                                                                  notAfter: Date().addingTimeInterval(300 * 86_400)),
                                               for: key, issuer: try s.o.f.pki.issuer("acme-assessors"))
        let pem = try s.o.f.dir.write("certs/next.pem", cert.pem)
        let rotate = try Self.proposed(s.g.rotateEncryption(of: "acme-assessors", encryptionFile: pem, from: nil, by: s.pat))
        try FileManager.default.removeItem(atPath: pem)
        let preview = try s.g.previewChange(rotate.id.rawValue, by: s.quinn)
        #expect(preview.details.contains { $0.hasPrefix("certificates.encryption:") && $0.hasSuffix("sha256=\(cert.sha256Fingerprint)") })
        _ = try s.g.approveChange(rotate.id.rawValue, by: s.quinn)
        #expect(try Certificate(pem: s.g.partner("acme-assessors").agreement.certificates.encryptionPEM).sha256Fingerprint == cert.sha256Fingerprint)

        let remove = try Self.proposed(s.g.removePartner("new-assessors", force: false, reason: nil, by: s.quinn))
        _ = try s.g.approveChange(remove.id.rawValue, by: s.pat)
        #expect(try s.g.partner("new-assessors").status == .removed)
        #expect(try s.g.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func onlyTheProposerOrTheShellWithdraws() throws {
        let s = try Setup()
        let change = try Self.proposed(s.g.updatePartner(agreementFile: try s.o.f.agreement(retention: "20"), by: s.pat))
        let e = #expect(throws: ClaimGateError.self) { try s.g.withdrawChange(change.id.rawValue, by: s.quinn) }
        #expect(e?.refusal == .notProposer)
        let withdrawn = try s.g.withdrawChange(change.id.rawValue, by: s.pat)
        #expect(withdrawn.state == .withdrawn)
        #expect(try s.events("change-withdrawn").last?.actor == s.pat.actor.description)
        let late = #expect(throws: ClaimGateError.self) { try s.g.approveChange(change.id.rawValue, by: s.quinn) }
        #expect(late?.code == .changeNotPending)
        let unknown = #expect(throws: ClaimGateError.self) { try s.g.approveChange("zzzzzzzzzz", by: s.quinn) }
        #expect(unknown?.code == .unknownChange)
    }

    @Test func grantingSecurityOfficerNeedsASecondSecurityOfficer() throws {
        let o = try OperatorFixture()
        let sam = try o.add("sam", [.securityOfficer])
        // With one security officer, it applies at once.
        #expect(try o.gateway.grantOperator("sam", .role(.auditor), by: sam).appliedValue != nil)
        let sue = try o.add("sue", [.securityOfficer])
        try o.add("bob", [.auditor])

        let grant = try Self.proposed(o.gateway.grantOperator("bob", .role(.securityOfficer), by: sam))
        #expect(grant.action == .operatorGrant && grant.target == "bob" && grant.partner == nil)
        #expect(try o.gateway.store.operator(OperatorID("bob"))?.roles == [.auditor])
        #expect(try o.gateway.previewChange(grant.id.rawValue, by: sue).details
                == ["operator bob: roles=auditor grants=- partners=* -> roles=auditor,security-officer grants=- partners=*"])
        let own = #expect(throws: ClaimGateError.self) { try o.gateway.approveChange(grant.id.rawValue, by: sam) }
        #expect(own?.refusal == .selfApproval)
        // A partner admin may not approve it: the action is a security officer's.
        let pat = try o.add("pat", [.partnerAdmin])
        #expect(throws: ClaimGateError.self) { try o.gateway.approveChange(grant.id.rawValue, by: pat) }
        guard case .operatorChanged(let bob) = try o.gateway.approveChange(grant.id.rawValue, by: sue).applied else {
            Issue.record("not an operator change"); return
        }
        #expect(bob.roles == [.auditor, .securityOfficer])
        let granted = try #require(try o.gateway.store.events().last { $0.action == "operator-granted" })
        #expect(granted.actor == sue.actor.description)
        #expect(granted.subject?.hasSuffix("change \(grant.id) proposed by operator:sam") == true)

        // Other roles and grants apply at once.
        #expect(try o.gateway.grantOperator("bob", .role(.claimsOperator), by: sam).appliedValue != nil)

        // So does adding an operator with the role: issued when approved, to the approver.
        let add = try Self.proposed(o.gateway.addOperator("sol", roles: [.securityOfficer], by: sam))
        #expect(try o.gateway.store.operator(OperatorID("sol")) == nil)
        guard case .operatorAdded(let issued) = try o.gateway.approveChange(add.id.rawValue, by: sue).applied else {
            Issue.record("not an operator addition"); return
        }
        #expect(issued.operator.roles == [.securityOfficer])
        #expect(try o.gateway.store.operator(OperatorID("sol"))?.certificate.fingerprint == issued.operator.certificate.fingerprint)
        #expect(try o.gateway.addOperator("alex", roles: [.auditor], by: sam).appliedValue != nil)
        #expect(try o.gateway.verifyAuditTrail(by: .system).isIntact)
    }

    /// An operator signed in to the web console is an operator like any other: four eyes holds
    /// there too (it once held only for the operator API's certificate principal).
    @Test func aConsoleOperatorsChangeWaitsForASecondOperatorToo() throws {
        let o = try OperatorFixture()
        try o.add("sam", [.securityOfficer])
        try o.add("sue", [.securityOfficer])
        try o.add("bob", [.auditor])
        let samAtConsole = Principal.consoleOperator(try OperatorID("sam"), session: "0123456789abcdef")
        let grant = try Self.proposed(o.gateway.grantOperator("bob", .role(.securityOfficer), by: samAtConsole))
        #expect(grant.proposer?.rawValue == "sam")
        #expect(try o.gateway.store.operator(OperatorID("bob"))?.roles == [.auditor])
        _ = try Self.proposed(o.gateway.addOperator("sol", roles: [.securityOfficer], by: samAtConsole))
        #expect(try o.gateway.grantOperator("bob", .role(.claimsOperator), by: samAtConsole).appliedValue != nil)
    }

    @Test func theShellSeesTheListAndApprovesAnOperatorAddition() throws {
        let o = try OperatorFixture()
        let sam = try o.add("sam", [.securityOfficer])
        try o.add("sue", [.securityOfficer])
        let add = try Self.proposed(o.gateway.addOperator("sol", roles: [.securityOfficer, .auditor], by: sam))
        #expect(try o.gateway.pendingChanges(by: Self.shell).map(\.id) == [add.id])
        _ = try o.gateway.approveChange(add.id.rawValue, by: Self.shell)
        let added = try #require(try o.gateway.store.events().last { $0.action == "operator-added" })
        #expect(added.actor == "local:uid=1000(test)")
        #expect(added.subject?.hasSuffix("change \(add.id) proposed by operator:sam") == true)
        let approved = try #require(try o.gateway.store.events().last { $0.action == "change-approved" })
        #expect(approved.subject == "\(add.label) proposed by \(sam.actor)")
    }
}
