import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Operations
import Store
import Testing

/// Operators through the gateway's operations: refusals recorded and attributed, standing
/// (suspended, removed, another certificate, expired), partner scope, changes in force at the
/// next action, the operator CA, and attribution that keeps old audit trails verifying.
@Suite struct OperatorTests {
    static let start = Timestamp.wholeSeconds(Date())
    static let shell = OperatorFixture.shell

    @Test func aRefusalIsRecordedWithRoleMissingAndTheTrailStillVerifies() throws {
        let o = try OperatorFixture()
        let auditor = try o.add("audit", [.auditor])
        let e = #expect(throws: ClaimGateError.self) { try o.gateway.suspendPartner("acme-assessors", reason: nil, by: auditor) }
        #expect(e?.code == .notPermitted)
        #expect(e?.refusal == .roleMissing)
        #expect(e?.message.contains("partner suspend") == true)
        #expect(try o.gateway.partner("acme-assessors").status == .active)

        let last = try #require(try o.gateway.store.events().last)
        guard case .operator(let id, let fingerprint) = auditor else { Issue.record("not an operator"); return }
        #expect(last.action == "operator-refused")
        #expect(last.outcome == "refused")
        #expect(last.reasonCode == "role-missing")
        #expect(last.subject == "partner-suspend")
        #expect(last.partnerID == "acme-assessors")
        #expect(last.actor == "operator:audit;sha256=\(fingerprint)")
        #expect(Actor(recorded: last.actor) == .operator(id, fingerprint: fingerprint))
        try o.gateway.sealAuditTrail()
        #expect(try o.gateway.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func anAllowedActionNamesTheOperatorAndItsCertificate() throws {
        let o = try OperatorFixture()
        let admin = try o.add("pat", [.partnerAdmin])
        try o.gateway.suspendPartner("acme-assessors", reason: "incident", by: admin)
        let last = try #require(try o.gateway.store.events().last)
        #expect(last.action == "partner-suspended")
        #expect(last.actor == admin.actor.description)
        let fingerprint = try #require(try o.gateway.store.operator(OperatorID("pat"))?.certificate.fingerprint)
        #expect(last.actor == "operator:pat;sha256=\(fingerprint)")
        #expect(fingerprint.count == 64)
    }

    @Test func realOperationsFollowTheRoles() throws {
        let o = try OperatorFixture()
        let claims = try o.add("claire", [.claimsOperator])
        let auditor = try o.add("audrey", [.auditor])
        let security = try o.add("sam", [.securityOfficer])
        let order = o.f.order(documents: [try o.f.document("a.pdf")])
        let b = try o.gateway.seal(order, to: .outbox, by: claims)
        #expect(throws: ClaimGateError.self) { try o.gateway.seal(order, to: .outbox, by: auditor) }
        #expect(throws: ClaimGateError.self) { try o.gateway.seal(order, to: .file(o.f.dir.path + "/x.p7m"), by: security) }
        #expect(throws: ClaimGateError.self) { try o.gateway.recall(bundle: b.id.description, reason: "wrong", by: claims) }
        #expect(throws: ClaimGateError.self) { try o.gateway.purge(by: claims) }
        try o.gateway.purge(by: security)
        try o.gateway.exportAuditTrail(to: o.f.dir.path + "/export.jsonl", by: auditor)
        #expect(throws: ClaimGateError.self) { try o.gateway.exportAuditTrail(to: o.f.dir.path + "/no.jsonl", by: claims) }
        #expect(!FileManager.default.fileExists(atPath: o.f.dir.path + "/no.jsonl"))
        #expect(throws: ClaimGateError.self) { try o.gateway.addOperator("eve", roles: [.securityOfficer], by: auditor) }
        #expect(try o.gateway.store.operator(OperatorID("eve")) == nil)
        _ = try o.gateway.addOperator("alex", roles: [.auditor], by: security)
        #expect(try o.gateway.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func suspendedAndRemovedOperatorsAreRefusedAtTheirNextAction() throws {
        let o = try OperatorFixture()
        let claims = try o.add("claire", [.claimsOperator])
        let order = o.f.order(documents: [try o.f.document("a.pdf")])
        _ = try o.gateway.seal(order, to: .outbox, by: claims)

        try o.gateway.suspendOperator("claire", by: Self.shell)
        let suspended = #expect(throws: ClaimGateError.self) { try o.gateway.seal(order, to: .outbox, by: claims) }
        #expect(suspended?.refusal == .operatorSuspended)
        try o.gateway.resumeOperator("claire", by: Self.shell)
        _ = try o.gateway.seal(order, to: .outbox, by: claims)

        try o.gateway.revokeOperator("claire", .role(.claimsOperator), by: Self.shell)
        #expect(throws: ClaimGateError.self) { try o.gateway.seal(order, to: .outbox, by: claims) }
        try o.gateway.grantOperator("claire", .role(.claimsOperator), by: Self.shell)
        _ = try o.gateway.seal(order, to: .outbox, by: claims)

        try o.gateway.removeOperator("claire", by: Self.shell)
        let removed = #expect(throws: ClaimGateError.self) { try o.gateway.seal(order, to: .outbox, by: claims) }
        #expect(removed?.refusal == .operatorRemoved)
        #expect(throws: ClaimGateError.self) { try o.gateway.resumeOperator("claire", by: Self.shell) }
        let again = #expect(throws: ClaimGateError.self) { try o.gateway.addOperator("claire", roles: [.auditor], by: Self.shell) }
        #expect(again?.code == .operatorExists)
        #expect(try o.refusals(of: claims).map(\.code) == ["operator-suspended", "role-missing", "operator-removed"])
        #expect(try o.gateway.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func anotherCertificateOrAnUnknownNameIsRefused() throws {
        let o = try OperatorFixture()
        try o.add("claire", [.claimsOperator])
        let order = o.f.order(documents: [try o.f.document("a.pdf")])
        let forged = Principal.operator(try OperatorID("claire"), fingerprint: String(repeating: "ab", count: 32))
        let e = #expect(throws: ClaimGateError.self) { try o.gateway.seal(order, to: .outbox, by: forged) }
        #expect(e?.refusal == .operatorCertificateMismatch)
        #expect(try o.refusals(of: forged).map(\.code) == ["operator-certificate-mismatch"])
        let nobody = Principal.operator(try OperatorID("nobody"), fingerprint: String(repeating: "cd", count: 32))
        let u = #expect(throws: ClaimGateError.self) { try o.gateway.seal(order, to: .outbox, by: nobody) }
        #expect(u?.refusal == .unknownOperator)
        #expect(try o.gateway.bundles(by: .system).isEmpty)
    }

    @Test func anExpiredOperatorCertificateIsRefusedAndDoctorWarnsBeforeItEnds() throws {
        let clock = ManualClock(Self.start)
        let o = try OperatorFixture(clock: clock)
        let issued = try o.gateway.addOperator("claire", roles: [.claimsOperator], days: 30, by: Self.shell).requireApplied()
        let claims = Principal.operator(issued.operator.id, fingerprint: issued.operator.certificate.fingerprint)
        try o.gateway.authorize(.bundleList, by: claims)
        #expect(try o.gateway.doctor(withinDays: 7, by: .system).findings.filter { $0.subject == "operator:claire" }.isEmpty)

        clock.now = issued.operator.certificate.notAfter.addingTimeInterval(-10 * 86_400)
        let ending = try o.gateway.doctor(withinDays: 30, by: .system).findings.filter { $0.subject == "operator:claire" }
        #expect(ending.map(\.code) == [.certificateExpiring])
        #expect(ending.first?.severity == .warning)

        clock.now = issued.operator.certificate.notAfter.addingTimeInterval(1)
        let e = #expect(throws: ClaimGateError.self) { try o.gateway.authorize(.bundleList, by: claims) }
        #expect(e?.refusal == .certificateNotValid)
        #expect(try o.gateway.doctor(withinDays: 30, by: .system).findings.filter { $0.subject == "operator:claire" }.map(\.code) == [.certificateExpired])
    }

    @Test func aScopedOperatorActsOnlyForItsPartners() throws {
        let o = try OperatorFixture()
        let claims = try o.add("claire", [.claimsOperator], partners: ["acme-assessors"])
        _ = try o.gateway.seal(o.f.order("acme-assessors", documents: [try o.f.document("a.pdf")]), to: .outbox, by: claims)
        let e = #expect(throws: ClaimGateError.self) {
            try o.gateway.seal(o.f.order("st-marys-hospital", documents: [try o.f.document("b.pdf")]), to: .outbox, by: claims)
        }
        #expect(e?.refusal == .partnerOutOfScope)
        // A listing of every partner is narrowed to its scope (OperatorScopeTests has each listing
        // and the actions on every partner, which stay refused); the gateway's identity is not limited.
        #expect(try o.gateway.bundles(by: claims).map(\.partnerID.rawValue) == ["acme-assessors"])
        try o.gateway.authorize(.identityShow, by: claims)
        #expect(try o.refusals(of: claims).map(\.code) == ["partner-out-of-scope"])
        let unknown = #expect(throws: ClaimGateError.self) { try o.gateway.addOperator("x", roles: [.auditor], partners: ["nobody-here"], by: Self.shell) }
        #expect(unknown?.code == .unknownPartner)
    }

    @Test func theInboxExportGrantBelongsToAClaimsOperator() throws {
        let o = try OperatorFixture()
        let e = #expect(throws: ClaimGateError.self) { try o.gateway.addOperator("x", roles: [.auditor], grants: [.inboxExport], by: Self.shell) }
        #expect(e?.code == .invalidArgument)
        try o.add("claire", [.claimsOperator])
        try o.gateway.grantOperator("claire", .grant(.inboxExport), by: Self.shell)
        #expect(try o.gateway.store.operator(OperatorID("claire"))?.grants == [.inboxExport])
        try o.gateway.revokeOperator("claire", .role(.claimsOperator), by: Self.shell)
        let after = try #require(try o.gateway.store.operator(OperatorID("claire")))
        #expect(after.roles.isEmpty && after.grants.isEmpty)
        #expect(after.changedBy == "local:uid=1000(test)")
    }

    @Test func theOperatorCAIsIssuedByTheGatewayCAAndIsNoPartnerAnchor() throws {
        let o = try OperatorFixture()
        let issued = try o.gateway.addOperator("claire", roles: [.claimsOperator], by: Self.shell).requireApplied()
        let chain = try Certificate.parseAll(pem: issued.certificateChainPEM)
        #expect(chain.count == 2)
        let operatorCA = try o.gateway.identity.operatorCA()
        #expect(chain[1].sha256Fingerprint == operatorCA.sha256Fingerprint)
        #expect(operatorCA.isCA)
        try operatorCA.verify(chainsTo: [o.gateway.identity.ca], at: Date())
        try chain[0].verify(chainsTo: [o.gateway.identity.ca], intermediates: [operatorCA], at: Date())
        #expect(chain[0].allowsTLSClientAuthentication)
        #expect(!chain[0].isCA)
        #expect(chain[0].subject.contains("CN=claire"))
        #expect(try PrivateKey(pem: try #require(issued.privateKeyPEM)).matches(chain[0]))
        // Created at init, recorded once as a key creation.
        #expect(try o.gateway.store.events().filter { $0.action == "key-created" && $0.reasonCode == "operator-ca" }.count == 1)

        // An agreement whose encryption certificate the operator CA issued, anchored on it.
        let caKey = try PrivateKey(pemFile: o.gateway.home.identity + "/" + GatewayIdentity.OperatorCAFile.key)
        let encKey = try PrivateKey.generate(.p256)
        let enc = try CertificateIssuer.issue(CertificateProfile(commonName: "sneaky encryption", keyUsage: "critical,keyAgreement",
                                                                 notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(86_400 * 30)),
                                              for: encKey, issuer: (operatorCA, caKey))
        // The operator CA with the gateway CA that issued it, so that the chain itself verifies.
        let anchor = try o.f.dir.write("operator-ca.pem", operatorCA.pem + o.gateway.identity.ca.pem)
        let encryption = try o.f.dir.write("sneaky-encryption.pem", enc.pem)
        let refused = #expect(throws: ClaimGateError.self) {
            try o.gateway.addPartner(agreementFile: try o.f.agreement(id: "sneaky-partner", pkiID: "acme-assessors", encryption: encryption, anchor: anchor),
                                     by: Self.shell)
        }
        #expect(refused?.code == .invalidAgreement)
        #expect(refused?.message.contains("operator CA") == true, "\(refused?.message ?? "")")
    }

    @Test func aHomeWithoutAnOperatorCAGetsOneOnFirstUse() throws {
        let o = try OperatorFixture()
        let dir = o.gateway.home.identity
        for f in [GatewayIdentity.OperatorCAFile.certificate, GatewayIdentity.OperatorCAFile.key] {
            try FileManager.default.removeItem(atPath: dir + "/" + f)
        }
        #expect(!o.gateway.identity.hasOperatorCA)
        let pem = try o.gateway.operatorCAPEM(by: Self.shell)
        #expect(o.gateway.identity.hasOperatorCA)
        #expect(pem.hasPrefix(try o.gateway.identity.operatorCA().pem))
        #expect(try o.gateway.store.events().filter { $0.action == "key-created" && $0.reasonCode == "operator-ca" }.count == 2)
    }

    @Test func entriesRecordedAsAdminBeforeOperatorsStillReadAndVerify() throws {
        let o = try OperatorFixture()
        try o.gateway.suspendPartner("acme-assessors", reason: nil, by: Self.shell)
        // What a gateway before operators recorded for a shell command.
        try o.gateway.store.record(TransferEvent(time: Date(), actor: .admin("alice"), action: .partnerSuspended, outcome: .success,
                                                 partnerID: try PartnerID("acme-assessors"), transport: .cli))
        let admin = try #require(try o.gateway.store.events().last)
        #expect(admin.actor == "admin:alice")
        #expect(Actor(recorded: admin.actor) == .admin("alice"))
        try o.gateway.resumePartner("acme-assessors", by: Self.shell)
        try o.gateway.suspendPartner("acme-assessors", reason: nil, by: try o.add("pat", [.partnerAdmin]))
        try o.gateway.sealAuditTrail()
        #expect(try o.gateway.verifyAuditTrail(by: .system).isIntact)
        let actors = try o.gateway.store.events().suffix(3).map(\.actor)
        #expect(actors[0].hasPrefix("local:uid=1000(test)") || actors[0] == "local:uid=1000(test)")
        #expect(actors.allSatisfy { Actor(recorded: $0) != nil })
    }
}
