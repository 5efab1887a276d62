import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Operations
import Store
import Testing

/// `operator add` for a public key the operator sent (the operator API's): issued at once, or,
/// when a second security officer must agree, kept with the key in a pending change and issued
/// for that key on approval; no private key is ever made at the gateway. The chain on record is
/// public and can be read again (`operator-show`).
@Suite struct OperatorPublicKeyTests {
    /// A P-256 key pair made by `openssl`, as an operator's machine would: the private key's
    /// path and the public key (PEM); `request` sends a certificate request instead.
    static func keyPair(in dir: TemporaryDirectory, _ name: String, request: Bool = false) throws -> (key: String, publicPEM: String) {
        let key = dir.path + "/\(name).key"
        try #require(try Shell.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).succeeded)
        let out = request ? try Shell.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=\(name)"])
                          : try Shell.run(["openssl", "pkey", "-in", key, "-pubout"])
        try #require(out.succeeded)
        return (key, out.stdout)
    }

    static func leafMatches(_ chainPEM: String, keyFile: String) throws -> Bool {
        let chain = try Certificate.parseAll(pem: chainPEM)
        let key = try PrivateKey(pem: try String(contentsOfFile: keyFile, encoding: .utf8))
        return chain.count == 2 && key.matches(chain[0])
    }

    @Test func anAdditionThatNeedsASecondOfficerKeepsThePublicKeyAndIsIssuedForItOnApproval() throws {
        let o = try OperatorFixture()
        let sam = try o.add("sam", [.securityOfficer])
        let sue = try o.add("sue", [.securityOfficer])
        let pair = try Self.keyPair(in: o.f.dir, "olga")
        let outcome = try o.gateway.addOperator("olga", roles: [.securityOfficer, .auditor], publicKeyPEM: pair.publicPEM, by: sam)
        let change = try #require(outcome.pendingChange)
        #expect(try o.gateway.store.operator(OperatorID("olga")) == nil)
        #expect(change.payload.contains("BEGIN PUBLIC KEY"))
        #expect(!change.payload.contains("PRIVATE"))
        #expect(!o.gateway.changeIssuesPrivateKey(change))
        let proposed = try #require(try o.gateway.store.events().last)
        #expect(proposed.action == "change-proposed")
        #expect(proposed.actor == sam.actor.description)
        #expect(try o.gateway.previewChange(change.id.rawValue, by: sue).details.contains { $0.contains("public key the proposer sent") })

        // Four eyes as for any change: not by its proposer.
        let own = #expect(throws: ClaimGateError.self) { try o.gateway.approveChange(change.id.rawValue, by: sam) }
        #expect(own?.refusal == .selfApproval)
        #expect(try o.gateway.store.events().last?.action == "change-refused")

        guard case .operatorAdded(let issued) = try o.gateway.approveChange(change.id.rawValue, by: sue).applied else {
            Issue.record("not an operator addition"); return
        }
        #expect(issued.privateKeyPEM == nil)
        #expect(issued.operator.roles == [.securityOfficer, .auditor])
        #expect(try Self.leafMatches(issued.certificateChainPEM, keyFile: pair.key))
        #expect(try o.gateway.store.operator(OperatorID("olga"))?.certificate.fingerprint == issued.operator.certificate.fingerprint)
        let events = try o.gateway.store.events().suffix(2)
        #expect(events.map(\.action) == ["change-approved", "operator-added"])
        #expect(events.last?.actor == sue.actor.description)
        #expect(events.last?.subject?.hasSuffix("change \(change.id) proposed by operator:sam") == true)

        // The chain on record is public material: read again by whoever may see operators.
        #expect(try o.gateway.operatorCertificateChainPEM("olga", by: sam) == issued.certificateChainPEM)
        let audrey = try o.add("audrey", [.auditor])
        #expect(try o.gateway.operatorCertificateChainPEM("olga", by: audrey) == issued.certificateChainPEM)
        let claire = try o.add("claire", [.claimsOperator])
        let refused = #expect(throws: ClaimGateError.self) { _ = try o.gateway.operatorCertificateChainPEM("olga", by: claire) }
        #expect(refused?.refusal == .roleMissing)
        #expect(try o.refusals(of: claire).map(\.subject) == ["operator-show"])
        #expect(try o.gateway.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func withOneOfficerItIsIssuedAtOnceForAKeyOrARequest() throws {
        let o = try OperatorFixture()
        let sam = try o.add("sam", [.securityOfficer])
        for (name, request) in [("olga", false), ("otto", true)] {
            let pair = try Self.keyPair(in: o.f.dir, name, request: request)
            let issued = try o.gateway.addOperator(name, roles: [.auditor], publicKeyPEM: pair.publicPEM, by: sam).requireApplied()
            #expect(issued.privateKeyPEM == nil)
            #expect(try Self.leafMatches(issued.certificateChainPEM, keyFile: pair.key))
            #expect(try o.gateway.operatorCertificateChainPEM(name, by: .system) == issued.certificateChainPEM)
        }
        let bad = #expect(throws: ClaimGateError.self) { try o.gateway.addOperator("eve", roles: [.auditor], publicKeyPEM: "not a key", by: sam) }
        #expect(bad?.code == .invalidArgument)
    }

    @Test func theChainOfAnOperatorTheGatewayMadeTheKeyForIsReadToo() throws {
        let o = try OperatorFixture()
        let issued = try o.gateway.addOperator("claire", roles: [.claimsOperator], by: OperatorFixture.shell).requireApplied()
        #expect(try o.gateway.operatorCertificateChainPEM("claire", by: OperatorFixture.shell) == issued.certificateChainPEM)
        #expect(try PrivateKey(pem: try #require(issued.privateKeyPEM)).matches(try Certificate.parseAll(pem: issued.certificateChainPEM)[0]))
        let unknown = #expect(throws: ClaimGateError.self) { _ = try o.gateway.operatorCertificateChainPEM("nobody", by: OperatorFixture.shell) }
        #expect(unknown?.code == .unknownOperator)
    }
}
