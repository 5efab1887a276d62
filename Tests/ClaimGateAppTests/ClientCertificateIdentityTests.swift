import ClaimGateApp
import Operations
import ClaimGateCore
import ClaimGateTesting
import Envelope
import Exchange
import Foundation
import Testing

/// A client certificate identifies at most one partner, and only among partners in force; every
/// refusal carries its real reason and, where one is known, the partner refused.
@Suite struct ClientCertificateIdentityTests {
    /// A second partner of the same organisation: acme-assessors' encryption certificate and CA.
    static let branch = "acme-branch"

    func agreement(_ f: GatewayFixture, id: String = "acme-assessors", certificates extra: String = "") throws -> String {
        let anchor = f.pki.partner("acme-assessors", "ca.pem")
        let lines = extra.isEmpty ? "" : "\n  " + extra.split(separator: "\n").joined(separator: "\n  ")
        return try f.agreement(id: id, pkiID: "acme-assessors", anchor: anchor + lines, extra: "delivery: {pull: [https]}")
    }

    /// A client certificate issued by acme-assessors' CA, as (DER, SHA-256 fingerprint).
    func clientCertificate(_ f: GatewayFixture, _ name: String) throws -> (der: [UInt8], fingerprint: String, certificate: Certificate) {
        let cert = try CertificateIssuer.issue(CertificateProfile(commonName: name, organization: "ACME", keyUsage: "critical,digitalSignature",
                                                                  extendedKeyUsage: "clientAuth", notBefore: Date().addingTimeInterval(-60),
                                                                  notAfter: Date().addingTimeInterval(30 * 86_400)),
                                               for: try PrivateKey.generate(.p256), issuer: try f.pki.issuer("acme-assessors"))
        return (cert.der, cert.sha256Fingerprint, cert)
    }

    func pin(_ fingerprint: String) -> String { "tls_client: {fingerprints: [\"\(fingerprint)\"]}" }

    func refusal(_ r: Result<PartnerID, Refusal>) -> Refusal? {
        if case .failure(let refusal) = r { return refusal }
        return nil
    }

    @Test func onboardingRefusesASecondPartnerOnTheSameAnchorUnlessBothPin() throws {
        let f = try GatewayFixture()
        let head = try clientCertificate(f, "acme head office"), branch = try clientCertificate(f, "acme branch")
        try f.gateway.addPartner(agreementFile: try agreement(f), by: .local(uid: 1000, name: "test"))
        let e = #expect(throws: ClaimGateError.self) {
            try f.gateway.addPartner(agreementFile: try agreement(f, id: Self.branch, certificates: pin(branch.fingerprint)), by: .local(uid: 1000, name: "test"))
        }
        #expect(e?.message.contains("certificates.trust_anchor") == true && e?.message.contains("tls_client") == true, "\(e?.message ?? "")")
        #expect(try f.gateway.store.partners().map(\.id.rawValue) == ["acme-assessors"])

        // Both pinned: each certificate identifies its own partner, and nothing else does.
        try f.gateway.updatePartner(agreementFile: try agreement(f, certificates: pin(head.fingerprint)), by: .local(uid: 1000, name: "test"))
        try f.gateway.addPartner(agreementFile: try agreement(f, id: Self.branch, certificates: pin(branch.fingerprint)), by: .local(uid: 1000, name: "test"))
        let exchange = GatewayExchange(gateway: f.gateway)
        #expect(try exchange.identify(clientCertificateDER: head.der).get().rawValue == "acme-assessors")
        #expect(try exchange.identify(clientCertificateDER: branch.der).get().rawValue == Self.branch)
        // A third certificate of the same CA is pinned by neither: unknown, named by no one.
        let stray = try clientCertificate(f, "acme stray")
        #expect(refusal(exchange.identify(clientCertificateDER: stray.der))?.reason == .unknownPartner)
        // An update that drops one side's pin would make certificates ambiguous: refused too.
        #expect(throws: ClaimGateError.self) { try f.gateway.updatePartner(agreementFile: try agreement(f, id: Self.branch), by: .local(uid: 1000, name: "test")) }
    }

    @Test func aRemovedPartnerNeverCountsAndASuspendedOneIsRefusedAsSuspended() throws {
        let f = try GatewayFixture()
        let old = try clientCertificate(f, "acme old")
        try f.gateway.addPartner(agreementFile: try agreement(f), by: .local(uid: 1000, name: "test"))
        let exchange = GatewayExchange(gateway: f.gateway, directoryMaxAge: 0)

        try f.gateway.suspendPartner("acme-assessors", reason: "incident", by: .local(uid: 1000, name: "test"))
        let suspended = refusal(exchange.identify(clientCertificateDER: old.der))
        #expect(suspended?.reason == .partnerSuspended && suspended?.partner?.rawValue == "acme-assessors", "\(String(describing: suspended))")

        try f.gateway.removePartner("acme-assessors", force: true, reason: "contract ended", by: .local(uid: 1000, name: "test"))
        let removed = refusal(exchange.identify(clientCertificateDER: old.der))
        #expect(removed?.reason == .partnerRemoved && removed?.partner?.rawValue == "acme-assessors", "\(String(describing: removed))")

        // The CA may now be another partner's anchor: the removed partner no longer counts, so
        // the certificate is not ambiguous; it identifies the partner in force.
        try f.gateway.addPartner(agreementFile: try agreement(f, id: Self.branch), by: .local(uid: 1000, name: "test"))
        #expect(try exchange.identify(clientCertificateDER: old.der).get().rawValue == Self.branch)
    }

    @Test func aCertificateOnTheCRLOfAnyAgreementThatTrustsItsIssuerIsRefused() throws {
        let f = try GatewayFixture()
        let head = try clientCertificate(f, "acme head office"), branch = try clientCertificate(f, "acme branch")
        try f.gateway.addPartner(agreementFile: try agreement(f, certificates: pin(head.fingerprint)), by: .local(uid: 1000, name: "test"))
        // The branch's agreement carries the CA's CRL, which revokes the head office's certificate.
        let list = try CertificateRevocationList.issue(by: try f.pki.issuer("acme-assessors"), revoking: [head.certificate],
                                                       thisUpdate: Date().addingTimeInterval(-60), nextUpdate: Date().addingTimeInterval(86_400))
        let crl = try f.dir.write("crl/acme.pem", list.pem)
        try f.gateway.addPartner(agreementFile: try agreement(f, id: Self.branch, certificates: pin(branch.fingerprint) + "\ncrl: \(crl)"), by: .local(uid: 1000, name: "test"))
        let exchange = GatewayExchange(gateway: f.gateway)
        let r = refusal(exchange.identify(clientCertificateDER: head.der))
        #expect(r?.reason == .certificateRevoked, "\(String(describing: r))")
        // The branch's CRL revoked a certificate its agreement does not list (its pin is another):
        // the refusal is not the branch's, and not the head office's either.
        #expect(r?.partner == nil, "\(String(describing: r))")
        #expect(!exchange.acceptsClientCertificate(chainDER: [head.der]))
        #expect(try exchange.identify(clientCertificateDER: branch.der).get().rawValue == Self.branch)
    }

    @Test func aCertificateThePinsNoLongerListIsAnUnknownKeyOfItsPartner() throws {
        let f = try GatewayFixture()
        let old = try clientCertificate(f, "acme old"), new = try clientCertificate(f, "acme new")
        try f.gateway.addPartner(agreementFile: try agreement(f, certificates: pin(old.fingerprint)), by: .local(uid: 1000, name: "test"))
        try f.gateway.updatePartner(agreementFile: try agreement(f, certificates: pin(new.fingerprint)), by: .local(uid: 1000, name: "test"))
        let exchange = GatewayExchange(gateway: f.gateway)
        let r = refusal(exchange.identify(clientCertificateDER: old.der))
        #expect(r?.reason == .unknownKey && r?.partner?.rawValue == "acme-assessors", "\(String(describing: r))")
        #expect(try exchange.identify(clientCertificateDER: new.der).get().rawValue == "acme-assessors")
    }

    /// A partner that does not pull over HTTPS may share the CA (it then verifies its report
    /// signatures or its push server): its certificates identify no one, and it takes nothing
    /// from the partner that does pull over HTTPS.
    @Test func aPartnerThatDoesNotPullOverHTTPSMaySharetheAnchorAndIdentifiesNoOne() throws {
        let f = try GatewayFixture()
        let me = Principal.local(uid: 1000, name: "test")
        let head = try clientCertificate(f, "acme head office")
        try f.gateway.addPartner(agreementFile: try agreement(f), by: me)
        let anchor = f.pki.partner("acme-assessors", "ca.pem")
        try f.gateway.addPartner(agreementFile: try f.agreement(id: Self.branch, pkiID: "acme-assessors", anchor: anchor,
                                                                extra: "delivery: {pull: [sftp]}"), by: me)
        let exchange = GatewayExchange(gateway: f.gateway)
        #expect(try exchange.identify(clientCertificateDER: head.der).get().rawValue == "acme-assessors")
        // Adding https to the branch's pulls would make certificates ambiguous: refused.
        #expect(throws: ClaimGateError.self) {
            try f.gateway.updatePartner(agreementFile: try f.agreement(id: Self.branch, pkiID: "acme-assessors", anchor: anchor,
                                                                       extra: "delivery: {pull: [sftp, https]}"), by: me)
        }
    }
}
