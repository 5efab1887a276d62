import ClaimGateApp
import Operations
import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Testing

@Suite struct OnboardingTests {
    /// Onboarding must fail with a message naming `field`, store nothing, and record the refusal.
    func expectRefused(_ f: GatewayFixture, _ file: String, field: String, mentions: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = #expect(throws: ClaimGateError.self, sourceLocation: sourceLocation) {
            try f.gateway.addPartner(agreementFile: file, by: .local(uid: 1000, name: "test"))
        }
        #expect(error?.code == .invalidAgreement, sourceLocation: sourceLocation)
        #expect(error?.message.contains(field) == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
        if let mentions {
            #expect(error?.message.contains(mentions) == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
        }
        #expect(try f.gateway.store.partners().isEmpty, sourceLocation: sourceLocation)
        let event = try f.gateway.store.events().last
        #expect(event?.action == "partner-refused", sourceLocation: sourceLocation)
        #expect(event?.outcome == "refused", sourceLocation: sourceLocation)
    }

    /// Issues a certificate from the partner's own CA with odd properties.
    func issue(_ f: GatewayFixture, kind: KeyKind, usage: String, from: Date = Date().addingTimeInterval(-3600),
               to: Date = Date().addingTimeInterval(86_400 * 300), name: String) throws -> String {
        let key = try PrivateKey.generate(kind)
        let cert = try CertificateIssuer.issue(CertificateProfile(commonName: name, keyUsage: usage, notBefore: from, notAfter: to),
                                               for: key, issuer: try f.pki.issuer("acme-assessors"))
        return try f.dir.write("certs/\(name).pem", cert.pem)
    }

    @Test func theSamplePartnersOnboard() throws {
        let f = try GatewayFixture()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        // The shipped agreements point at ../certs/dev: copy them next to a PKI laid out the same way.
        let root = f.dir.path + "/repo"
        try FileManager.default.createDirectory(atPath: root + "/certs", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/certs/dev", withDestinationPath: f.pki.path)
        try FileManager.default.copyItem(atPath: repo + "/partners", toPath: root + "/partners")
        let acme = try f.gateway.addPartner(agreementFile: root + "/partners/acme-assessors.yaml", by: .local(uid: 1000, name: "test")).requireApplied()
        let stm = try f.gateway.addPartner(agreementFile: root + "/partners/st-marys-hospital.yaml", by: .local(uid: 1000, name: "test")).requireApplied()
        #expect(acme.agreement.role == .assessor)
        #expect(acme.agreement.delivery.pushSFTP?.host == "sftp.acme.example")
        #expect(acme.agreement.sshAuthorizedKeys.count == 1)
        #expect(stm.agreement.role == .institution)
        #expect(stm.agreement.delivery.pull == [.https])
        #expect(try f.gateway.store.partners().map(\.id.rawValue) == ["acme-assessors", "st-marys-hospital"])
        #expect(try f.gateway.store.agreementVersions(acme.id).count == 1)
    }

    @Test func expiredEncryptionCertificateIsRefused() throws {
        let f = try GatewayFixture()
        let old = try issue(f, kind: .rsa(bits: 2048), usage: "keyEncipherment", from: Date().addingTimeInterval(-86_400 * 400),
                            to: Date().addingTimeInterval(-86_400), name: "expired")
        try expectRefused(f, try f.agreement(encryption: old), field: "certificates.encryption", mentions: "expired")
    }

    @Test func signingOnlyKeyUsageIsRefused() throws {
        let f = try GatewayFixture()
        let rsa = try issue(f, kind: .rsa(bits: 2048), usage: "critical,digitalSignature", name: "rsa-signing")
        try expectRefused(f, try f.agreement(encryption: rsa), field: "certificates.encryption", mentions: "keyEncipherment")
        let ec = try issue(f, kind: .p256, usage: "critical,digitalSignature", name: "ec-signing")
        try expectRefused(f, try f.agreement(encryption: ec), field: "certificates.encryption", mentions: "keyAgreement")
    }

    @Test func weakKeyIsRefused() throws {
        let f = try GatewayFixture()
        let weak = try issue(f, kind: .rsa(bits: 1024), usage: "keyEncipherment", name: "rsa-1024")
        try expectRefused(f, try f.agreement(encryption: weak), field: "certificates.encryption", mentions: "RSA-1024")
    }

    @Test func certificateThatDoesNotChainToTheTrustAnchorIsRefused() throws {
        let f = try GatewayFixture()
        try expectRefused(f, try f.agreement(anchor: f.pki.path + "/other/ca.pem"), field: "certificates.encryption",
                          mentions: "does not chain")
        // Another partner's encryption certificate under this partner's anchor.
        try expectRefused(f, try f.agreement(encryption: f.pki.partner("st-marys-hospital", "encryption.pem")),
                          field: "certificates.encryption", mentions: "does not chain")
    }

    @Test func trustAnchorMustBeACA() throws {
        let f = try GatewayFixture()
        try expectRefused(f, try f.agreement(anchor: f.pki.partner("acme-assessors", "encryption.pem")),
                          field: "certificates.trust_anchor", mentions: "not a CA")
    }

    @Test func malformedSSHKeyIsRefused() throws {
        let f = try GatewayFixture()
        try expectRefused(f, try f.agreement(sshKeys: "[\"ssh-ed25519 AAAAnotbase64!! ops@acme\"]"), field: "ssh.authorized_keys[0]")
        try expectRefused(f, try f.agreement(sshKeys: "[\"ssh-dss AAAAB3NzaC1kc3M= old\"]"), field: "ssh.authorized_keys[0]")
        try expectRefused(f, try f.agreement(sshKeys: "[\"just-a-string\"]"), field: "ssh.authorized_keys[0]")
    }

    @Test(arguments: ["ACME", "a", "acme_assessors", "../../etc"])
    func badIDIsRefused(_ id: String) throws {
        let f = try GatewayFixture()
        try expectRefused(f, try f.agreement(id: id, pkiID: "acme-assessors"), field: "id")
    }

    @Test func missingOrInvalidTermsAreRefused() throws {
        let f = try GatewayFixture()
        try expectRefused(f, try f.agreement(purposes: "[]"), field: "agreement.purposes")
        try expectRefused(f, try f.agreement(retention: "0"), field: "agreement.max_retention_days")
        try expectRefused(f, try f.agreement(validUntil: "31/12/2027"), field: "agreement.valid_until")
        try expectRefused(f, try f.agreement(types: "[pdf]"), field: "agreement.document_types")
        try expectRefused(f, try f.agreement(types: "[application/msword]"), field: "agreement.document_types", mentions: "recognises")
        try expectRefused(f, try f.agreement(purposes: "[a, a]"), field: "agreement.purposes", mentions: "twice")
        try expectRefused(f, try f.agreement(validUntil: "2020-01-31"), field: "agreement.valid_until", mentions: "past")
        try expectRefused(f, try f.agreement(sshKeys: "[]", extra: "delivery:\n  pull: [sftp]"), field: "delivery.pull", mentions: "ssh")
        try expectRefused(f, try f.agreement(extra: "purpose: typo"), field: "purpose", mentions: "not a known field")
        try expectRefused(f, try f.agreement(extra: "delivery:\n  push:\n    sftp: {host: h, user: u, path: /in, host_key: \"MD5:aa\"}"),
                          field: "delivery.push.sftp.host_key")
    }

    @Test func aPartnerCannotBeOnboardedTwice() throws {
        let f = try GatewayFixture()
        try f.onboard()
        let e = #expect(throws: ClaimGateError.self) { try f.onboard() }
        #expect(e?.code == .partnerExists)
        #expect(try f.gateway.store.partners().count == 1)
    }
}
