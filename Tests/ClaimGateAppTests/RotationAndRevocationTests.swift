import ClaimGateApp
import Operations
import ClaimGateCore
import ClaimGateTesting
import Exchange
import Envelope
import Foundation
import Testing

/// Key rotation (`certificates.next_encryption`, `partner rotate`) and revocation
/// (`certificates.crl`), with the clock injected where the date decides.
@Suite struct RotationAndRevocationTests {
    static let origin = SessionOrigin(transport: .https, clientAddress: "127.0.0.1:1")

    // MARK: Helpers

    /// Issues a certificate from `pki` partner's CA; returns the PEM path (and the key's, written next to it).
    @discardableResult
    func issue(_ f: GatewayFixture, _ name: String, partner: String = "acme-assessors", kind: KeyKind = .p256,
               usage: String, eku: String? = nil, from: Date = Date().addingTimeInterval(-3600),
               days: Double = 300) throws -> (cert: String, key: String, certificate: Certificate) {
        let key = try PrivateKey.generate(kind)
        let cert = try CertificateIssuer.issue(CertificateProfile(commonName: name, organization: "Test", keyUsage: usage,
                                                                  extendedKeyUsage: eku, notBefore: from,
                                                                  notAfter: from.addingTimeInterval(days * 86_400)),
                                               for: key, issuer: try f.pki.issuer(partner))
        return (try f.dir.write("certs/\(name).pem", cert.pem), try f.dir.write("certs/\(name).key", try key.pkcs8PEM()), cert)
    }

    /// A CRL from `partner`'s CA revoking `revoked`, written as PEM or DER.
    func crl(_ f: GatewayFixture, _ name: String, partner: String = "acme-assessors", revoking revoked: [Certificate] = [],
             thisUpdate: Date = Date().addingTimeInterval(-60), nextUpdate: Date = Date().addingTimeInterval(7 * 86_400),
             der: Bool = false) throws -> String {
        let list = try CertificateRevocationList.issue(by: try f.pki.issuer(partner), revoking: revoked,
                                                       thisUpdate: thisUpdate, nextUpdate: nextUpdate)
        return der ? try f.dir.write("crl/\(name).der", Data(list.der)) : try f.dir.write("crl/\(name).pem", list.pem)
    }

    /// An agreement for acme-assessors pulling over HTTPS, with extra `certificates` lines.
    func agreement(_ f: GatewayFixture, certificates extra: String = "", anchor: String? = nil,
                   validUntil: String = "2099-12-31") throws -> String {
        let lines = extra.isEmpty ? "" : "\n  " + extra.split(separator: "\n").joined(separator: "\n  ")
        return try f.agreement(anchor: (anchor ?? f.pki.partner("acme-assessors", "ca.pem")) + lines,
                               validUntil: validUntil, extra: "delivery: {pull: [https]}")
    }

    func der(_ path: String) throws -> [UInt8] { try Certificate.load(pemFile: path)[0].der }

    func fingerprint(_ path: String) throws -> String { try Certificate.load(pemFile: path)[0].sha256Fingerprint }

    // MARK: Rotation

    @Test func rotationPicksTheRightCertificateByDate() throws {
        let now = Date()
        let day = try CalendarDay(parsing: String(Timestamp.format(now.addingTimeInterval(10 * 86_400)).prefix(10)))
        let f = try GatewayFixture(clock: FixedClock(now))
        let next = try issue(f, "acme next encryption", kind: .rsa(bits: 2048), usage: "critical,keyEncipherment")
        let p = try f.gateway.addPartner(agreementFile: try agreement(f, certificates: "next_encryption: {certificate: \(next.cert), from: \(day)}"), by: .local(uid: 1000, name: "test")).requireApplied()
        #expect(p.agreement.certificates.nextEncryptionFrom == day)
        #expect(p.agreement.certificates.nextEncryptionPEM == next.certificate.pem)
        let current = try fingerprint(f.pki.partner("acme-assessors", "encryption.pem"))

        func seal(at instant: Date) throws -> (BundleRecord, BundleManifest) {
            let g = try Gateway.open(home: f.gateway.home, clock: FixedClock(instant))
            let b = try g.seal(f.order(documents: [try f.document("r-\(UUID().uuidString.prefix(6)).pdf")]), to: .outbox, by: .local(uid: 1000, name: "test"))
            return (b, try BundleManifest.decode(b.manifestJSON))
        }
        // The last second of the day before: the current certificate.
        let (before, beforeManifest) = try seal(at: day.startOfDay.addingTimeInterval(-1))
        #expect(beforeManifest.recipient.encryptionCertificateSHA256 == current)
        #expect(try f.open(before.filePath, as: "acme-assessors", out: f.dir.path + "/before",
                           clock: FixedClock(day.startOfDay)).bundleID == before.id)
        // From midnight UTC of the day on: the next one, and only its key opens the bundle.
        for instant in [day.startOfDay, day.startOfDay.addingTimeInterval(86_400 * 3)] {
            let (after, afterManifest) = try seal(at: instant)
            #expect(afterManifest.recipient.encryptionCertificateSHA256 == next.certificate.sha256Fingerprint)
            let out = f.dir.path + "/after-\(Int(instant.timeIntervalSince1970))"
            let m = try PartnerOpener.open(.init(bundle: after.filePath, certificate: next.cert, key: next.key,
                                                 trust: try f.trustFile(), output: out), clock: FixedClock(instant))
            #expect(m.bundleID == after.id)
            #expect(throws: ClaimGateError.self) {
                try f.open(after.filePath, as: "acme-assessors", out: out + "-old", clock: FixedClock(instant))
            }
        }
    }

    @Test func aRotationWhoseDayHasComeIsFoldedInByTheNextUpdate() throws {
        let now = Date()
        let day = try CalendarDay(parsing: String(Timestamp.format(now.addingTimeInterval(2 * 86_400)).prefix(10)))
        let f = try GatewayFixture(clock: FixedClock(now))
        let next = try issue(f, "acme next", usage: "critical,keyAgreement")
        let file = try agreement(f, certificates: "next_encryption: {certificate: \(next.cert), from: \(day)}")
        try f.gateway.addPartner(agreementFile: file, by: .local(uid: 1000, name: "test"))
        // The same file, a week later: the next certificate is the encryption certificate now.
        let later = try Gateway.open(home: f.gateway.home, clock: FixedClock(now.addingTimeInterval(7 * 86_400)))
        let p = try later.updatePartner(agreementFile: file, by: .local(uid: 1000, name: "test")).requireApplied()
        #expect(p.version == 2)
        #expect(p.agreement.certificates.encryptionPEM == next.certificate.pem)
        #expect(p.agreement.certificates.nextEncryptionPEM == nil)
        #expect(p.agreement.certificates.nextEncryptionFrom == nil)
    }

    @Test func rotateSchedulesOrReplacesTheEncryptionCertificate() throws {
        let now = Date()
        let f = try GatewayFixture(clock: FixedClock(now))
        let p = try f.gateway.addPartner(agreementFile: try agreement(f), by: .local(uid: 1000, name: "test")).requireApplied()
        let next = try issue(f, "acme rotated", kind: .rsa(bits: 2048), usage: "critical,keyEncipherment")
        let day = try CalendarDay(parsing: String(Timestamp.format(now.addingTimeInterval(30 * 86_400)).prefix(10)))

        // With a future day: scheduled, the current certificate stays until then.
        let scheduled = try AgreementLoader.rotated(p.agreement, encryptionFile: next.cert, from: day, clock: f.gateway.clock)
        #expect(scheduled.certificates.encryptionPEM == p.agreement.certificates.encryptionPEM)
        #expect(scheduled.certificates.nextEncryptionPEM == next.certificate.pem)
        #expect(scheduled.certificates.nextEncryptionFrom == day)
        let v2 = try f.gateway.updatePartner(scheduled, source: "rotate", reason: "rotate", by: .local(uid: 1000, name: "test"))
        #expect(v2.version == 2)
        #expect(v2.agreement.certificates.encryptionPEM(at: day.startOfDay.addingTimeInterval(-1)) == p.agreement.certificates.encryptionPEM)
        #expect(v2.agreement.certificates.encryptionPEM(at: day.startOfDay) == next.certificate.pem)
        #expect(try f.gateway.store.agreementVersions(p.id).count == 2)

        // Without a day (or with one already begun): replaced now, nothing scheduled.
        let other = try issue(f, "acme rotated again", usage: "critical,keyAgreement")
        for from in [nil, try CalendarDay(parsing: String(Timestamp.format(now).prefix(10)))] {
            let now = try AgreementLoader.rotated(v2.agreement, encryptionFile: other.cert, from: from, clock: f.gateway.clock)
            #expect(now.certificates.encryptionPEM == other.certificate.pem)
            #expect(now.certificates.nextEncryptionPEM == nil && now.certificates.nextEncryptionFrom == nil)
        }

        // The same checks as certificates.encryption, naming the option.
        let signing = try issue(f, "acme signing only", kind: .rsa(bits: 2048), usage: "critical,digitalSignature")
        let e1 = #expect(throws: ClaimGateError.self) {
            try AgreementLoader.rotated(p.agreement, encryptionFile: signing.cert, from: nil, clock: f.gateway.clock)
        }
        #expect(e1?.message.contains("--encryption") == true && e1?.message.contains("keyEncipherment") == true, "\(e1?.message ?? "")")
        let foreign = try issue(f, "stm encryption", partner: "st-marys-hospital", usage: "critical,keyAgreement")
        let e2 = #expect(throws: ClaimGateError.self) {
            try AgreementLoader.rotated(p.agreement, encryptionFile: foreign.cert, from: day, clock: f.gateway.clock)
        }
        #expect(e2?.message.contains("does not chain") == true, "\(e2?.message ?? "")")
        let e3 = #expect(throws: ClaimGateError.self) {
            try AgreementLoader.rotated(p.agreement, encryptionFile: f.pki.partner("acme-assessors", "encryption.pem"), from: nil, clock: f.gateway.clock)
        }
        #expect(e3?.message.contains("already") == true)
        // A certificate that expires before the day it would take effect.
        let short = try issue(f, "acme short", usage: "critical,keyAgreement", days: 5)
        let e4 = #expect(throws: ClaimGateError.self) {
            try AgreementLoader.rotated(p.agreement, encryptionFile: short.cert, from: day, clock: f.gateway.clock)
        }
        #expect(e4?.message.contains("expired") == true, "\(e4?.message ?? "")")
    }

    @Test func aNextEncryptionCertificateGetsTheChecksOfTheEncryptionCertificate() throws {
        let f = try GatewayFixture()
        let future = String(Timestamp.format(Date().addingTimeInterval(20 * 86_400)).prefix(10))
        let signing = try issue(f, "acme next signing", kind: .rsa(bits: 2048), usage: "critical,digitalSignature")
        let good = try issue(f, "acme next good", usage: "critical,keyAgreement")
        let foreign = try issue(f, "stm next", partner: "st-marys-hospital", usage: "critical,keyAgreement")
        let cases: [(String, String, String)] = [
            ("next_encryption: {certificate: \(signing.cert), from: \(future)}", "certificates.next_encryption.certificate", "keyEncipherment"),
            ("next_encryption: {certificate: \(foreign.cert), from: \(future)}", "certificates.next_encryption.certificate", "does not chain"),
            ("next_encryption: {certificate: \(good.cert), from: 2026-02-30}", "certificates.next_encryption.from", "YYYY-MM-DD"),
            ("next_encryption: {certificate: \(good.cert), from: 2098-01-01}", "certificates.next_encryption.from", "after the agreement ends"),
            ("next_encryption: {certificate: \(f.pki.partner("acme-assessors", "encryption.pem")), from: \(future)}",
             "certificates.next_encryption.certificate", "same certificate"),
            ("next_encryption: {certificate: \(good.cert)}", "certificates.next_encryption.from", "missing"),
            ("next_encryption: {certificate: \(good.cert), from: \(future), form: x}", "certificates.next_encryption.form", "not a known field"),
        ]
        for (lines, field, mention) in cases {
            let e = #expect(throws: ClaimGateError.self) {
                try f.gateway.addPartner(agreementFile: try agreement(f, certificates: lines, validUntil: "2097-12-31"), by: .local(uid: 1000, name: "test"))
            }
            #expect(e?.code == .invalidAgreement)
            #expect(e?.message.contains(field) == true && e?.message.contains(mention) == true, "\(lines): \(e?.message ?? "")")
        }
        #expect(try f.gateway.store.partners().isEmpty)
    }

    @Test func severalAnchorsInOnePEMLetOldAndNewClientCertificatesOverlap() throws {
        let f = try GatewayFixture()
        // The partner rolls its CA over: the old and the new CA in one trust_anchor file.
        let newCAKey = try PrivateKey.generate(.p256)
        let newCA = try CertificateIssuer.issue(.authority("ACME New CA", organization: "ACME", from: Date().addingTimeInterval(-3600), days: 365),
                                                for: newCAKey, issuer: nil)
        let anchors = try f.dir.write("anchors.pem", try Certificate.load(pemFile: f.pki.partner("acme-assessors", "ca.pem"))[0].pem + newCA.pem)
        let clientKey = try PrivateKey.generate(.p256)
        let newClient = try CertificateIssuer.issue(CertificateProfile(commonName: "acme-assessors", keyUsage: "critical,digitalSignature",
                                                                       extendedKeyUsage: "clientAuth", notBefore: Date().addingTimeInterval(-60),
                                                                       notAfter: Date().addingTimeInterval(86_400)),
                                                    for: clientKey, issuer: (newCA, newCAKey))
        let p = try f.gateway.addPartner(agreementFile: try agreement(f, anchor: anchors), by: .local(uid: 1000, name: "test")).requireApplied()
        #expect(try Certificate.parseAll(pem: p.agreement.certificates.trustAnchorPEM).count == 2)
        let exchange = GatewayExchange(gateway: f.gateway)
        for der in [try der(f.pki.partner("acme-assessors", "tls-client.pem")), newClient.der] {
            #expect(exchange.acceptsClientCertificate(chainDER: [der]))
            #expect(try exchange.identify(clientCertificateDER: der).get() == p.id)
        }
    }

    // MARK: Revocation

    @Test func aCRLIsCheckedAndStoredAtOnboarding() throws {
        let f = try GatewayFixture()
        // DER accepted, stored as PEM text.
        let p = try f.gateway.addPartner(agreementFile: try agreement(f, certificates: "crl: \(try crl(f, "good", der: true))"), by: .local(uid: 1000, name: "test")).requireApplied()
        let stored = try CertificateRevocationList.parseAll(pem: try #require(p.agreement.certificates.crlPEM))
        #expect(stored.count == 1 && stored[0].issuer.contains("ACME"))

        let f2 = try GatewayFixture()
        let expired = try crl(f2, "expired", thisUpdate: Date().addingTimeInterval(-10 * 86_400), nextUpdate: Date().addingTimeInterval(-86_400))
        let foreign = try crl(f2, "foreign", partner: "st-marys-hospital")
        let garbage = try f2.dir.write("crl/garbage.pem", "not a CRL")
        for (path, mention) in [(expired, "nextUpdate"), (foreign, "not signed by any certificate in the trust anchor"), (garbage, "not a CRL")] {
            let e = #expect(throws: ClaimGateError.self) {
                try f2.gateway.addPartner(agreementFile: try agreement(f2, certificates: "crl: \(path)"), by: .local(uid: 1000, name: "test"))
            }
            #expect(e?.message.contains("certificates.crl") == true && e?.message.contains(mention) == true, "\(e?.message ?? "")")
        }
        #expect(try f2.gateway.store.partners().isEmpty)
    }

    @Test func aCRLRevokedClientCertificateIsRefused() throws {
        let f = try GatewayFixture()
        let revoked = try issue(f, "acme-assessors", usage: "critical,digitalSignature", eku: "clientAuth")
        let list = try crl(f, "revoking", revoking: [revoked.certificate])
        let p = try f.gateway.addPartner(agreementFile: try agreement(f, certificates: "crl: \(list)"), by: .local(uid: 1000, name: "test")).requireApplied()
        let exchange = GatewayExchange(gateway: f.gateway)
        let good = try der(f.pki.partner("acme-assessors", "tls-client.pem"))
        #expect(exchange.acceptsClientCertificate(chainDER: [good]))
        #expect(try exchange.identify(clientCertificateDER: good).get() == p.id)
        // Refused at the handshake and per request, with a reason that says why.
        #expect(!exchange.acceptsClientCertificate(chainDER: [revoked.certificate.der]))
        guard case .failure(let r) = exchange.identify(clientCertificateDER: revoked.certificate.der) else {
            Issue.record("a revoked certificate identified a partner"); return
        }
        #expect(r.reason.code == "certificate-revoked")
        #expect(r.message.contains("revoked"))
    }

    @Test func aCertificateFromACAWithoutACRLIsRefusedWhileACRLIsSet() throws {
        let f = try GatewayFixture()
        let newCAKey = try PrivateKey.generate(.p256)
        let newCA = try CertificateIssuer.issue(.authority("ACME New CA", organization: "ACME", from: Date().addingTimeInterval(-3600), days: 365),
                                                for: newCAKey, issuer: nil)
        let anchors = try f.dir.write("anchors.pem", try Certificate.load(pemFile: f.pki.partner("acme-assessors", "ca.pem"))[0].pem + newCA.pem)
        let client = try CertificateIssuer.issue(CertificateProfile(commonName: "acme-assessors", keyUsage: "critical,digitalSignature",
                                                                    extendedKeyUsage: "clientAuth", notBefore: Date().addingTimeInterval(-60),
                                                                    notAfter: Date().addingTimeInterval(86_400)),
                                                 for: try PrivateKey.generate(.p256), issuer: (newCA, newCAKey))
        // Only the old CA's CRL: the new CA's certificates cannot be checked, so they are refused.
        try f.gateway.addPartner(agreementFile: try agreement(f, certificates: "crl: \(try crl(f, "old-only"))", anchor: anchors), by: .local(uid: 1000, name: "test"))
        let exchange = GatewayExchange(gateway: f.gateway)
        #expect(!exchange.acceptsClientCertificate(chainDER: [client.der]))
        guard case .failure(let r) = exchange.identify(clientCertificateDER: client.der) else {
            Issue.record("a certificate without a CRL for its CA identified a partner"); return
        }
        #expect(r.reason.code == "crl-unusable")
        #expect(r.message.contains("no CRL"), "\(r.message)")
        // Both CRLs in one PEM file: both CAs' certificates work.
        let newCRL = try CertificateRevocationList.issue(by: (newCA, newCAKey), revoking: [], thisUpdate: Date().addingTimeInterval(-60),
                                                         nextUpdate: Date().addingTimeInterval(86_400))
        let both = try f.dir.write("crl/both.pem", try String(contentsOfFile: try crl(f, "old"), encoding: .utf8) + newCRL.pem)
        let v2 = try f.gateway.updatePartner(agreementFile: try agreement(f, certificates: "crl: \(both)", anchor: anchors), by: .local(uid: 1000, name: "test")).requireApplied()
        #expect(try CertificateRevocationList.parseAll(pem: try #require(v2.agreement.certificates.crlPEM)).count == 2)
        let fresh = GatewayExchange(gateway: f.gateway)
        #expect(try fresh.identify(clientCertificateDER: client.der).get() == v2.id)
        #expect(try fresh.identify(clientCertificateDER: try der(f.pki.partner("acme-assessors", "tls-client.pem"))).get() == v2.id)
    }

    @Test func partnerUpdatePicksUpANewCRL() throws {
        let f = try GatewayFixture()
        let client = try issue(f, "acme-assessors", usage: "critical,digitalSignature", eku: "clientAuth")
        try f.gateway.addPartner(agreementFile: try agreement(f, certificates: "crl: \(try crl(f, "empty"))"), by: .local(uid: 1000, name: "test"))
        let exchange = GatewayExchange(gateway: f.gateway)
        #expect(exchange.acceptsClientCertificate(chainDER: [client.certificate.der]))
        #expect((try? exchange.identify(clientCertificateDER: client.certificate.der).get()) != nil)

        let v2 = try f.gateway.updatePartner(agreementFile: try agreement(f, certificates: "crl: \(try crl(f, "newer", revoking: [client.certificate]))"), by: .local(uid: 1000, name: "test")).requireApplied()
        #expect(v2.version == 2)
        // The running exchange re-reads the agreements within a second.
        usleep(1_100_000)
        #expect(!exchange.acceptsClientCertificate(chainDER: [client.certificate.der]))
        guard case .failure(let r) = exchange.identify(clientCertificateDER: client.certificate.der) else {
            Issue.record("the new CRL was not picked up"); return
        }
        #expect(r.reason.code == "certificate-revoked")
    }

    @Test func aRememberedIdentityIsJudgedAgainWhenTheClockPassesTheCRLsNextUpdate() throws {
        // Identities are remembered per certificate for a second of the gateway's clock: a
        // running exchange must not keep accepting a certificate once its CRL has expired.
        let now = Date()
        let clock = ManualClock(now)
        let f = try GatewayFixture(clock: clock)
        try f.gateway.addPartner(agreementFile: try agreement(f, certificates: "crl: \(try crl(f, "short", nextUpdate: now.addingTimeInterval(3600)))"), by: .local(uid: 1000, name: "test"))
        let good = try der(f.pki.partner("acme-assessors", "tls-client.pem"))
        let exchange = GatewayExchange(gateway: f.gateway)
        #expect((try? exchange.identify(clientCertificateDER: good).get()) != nil)
        #expect((try? exchange.identify(clientCertificateDER: good).get()) != nil)
        clock.now = now.addingTimeInterval(7200)
        guard case .failure(let r) = exchange.identify(clientCertificateDER: good) else {
            Issue.record("a remembered identity outlived its CRL"); return
        }
        #expect(r.reason.code == "crl-expired")
    }

    @Test func anExpiredCRLRefusesEveryCertificateItCoversUntilANewOneIsLoaded() throws {
        let now = Date()
        let f = try GatewayFixture(clock: FixedClock(now))
        try f.gateway.addPartner(agreementFile: try agreement(f, certificates: "crl: \(try crl(f, "short", nextUpdate: now.addingTimeInterval(86_400)))"), by: .local(uid: 1000, name: "test"))
        let good = try der(f.pki.partner("acme-assessors", "tls-client.pem"))
        #expect(GatewayExchange(gateway: f.gateway).acceptsClientCertificate(chainDER: [good]))
        let later = try Gateway.open(home: f.gateway.home, clock: FixedClock(now.addingTimeInterval(2 * 86_400)))
        let exchange = GatewayExchange(gateway: later)
        #expect(!exchange.acceptsClientCertificate(chainDER: [good]))
        guard case .failure(let r) = exchange.identify(clientCertificateDER: good) else {
            Issue.record("an expired CRL was accepted"); return
        }
        #expect(r.reason.code == "crl-expired")
        #expect(r.message.contains("expired"))
    }

    @Test func aReportSignedWithARevokedCertificateIsQuarantined() throws {
        let f = try GatewayFixture()
        let signer = try issue(f, "acme signing 2", usage: "critical,digitalSignature,nonRepudiation", eku: "emailProtection")
        try f.gateway.addPartner(agreementFile: try agreement(f, certificates: "crl: \(try crl(f, "signer", revoking: [signer.certificate]))"), by: .local(uid: 1000, name: "test"))
        let gatewayCert = try f.dir.write("gateway-encryption.pem", try f.gateway.identity.encryption().pem)

        func report(_ cert: String, _ key: String) throws -> InboundReport {
            let out = f.dir.path + "/report-\(UUID().uuidString.prefix(8)).p7m"
            _ = try PartnerSealer.seal(.init(partnerID: "acme-assessors", gatewayCertificate: gatewayCert, signerCertificate: cert,
                                             signerKey: key, claimID: "CLM-1", purpose: "claim-assessment", expiry: .ttl(86_400),
                                             documents: [try f.document("r.pdf")], output: out))
            return try f.gateway.processInbound(path: out, name: "report.p7m", partner: try PartnerID("acme-assessors"), origin: Self.origin)
        }
        let bad = try report(signer.cert, signer.key)
        #expect(bad.state == .quarantined)
        #expect(bad.reason?.contains("revoked") == true, "\(bad.reason ?? "")")
        let ok = try report(f.pki.partner("acme-assessors", "signing.pem"), f.pki.partner("acme-assessors", "signing.key"))
        #expect(ok.state == .accepted, "\(ok.reason ?? "")")
    }

    @Test func agreementVersionsStoredBeforeRotationAndCRLsStillDecode() throws {
        let old = #"{"encryptionPEM":"E","trustAnchorPEM":"A","tlsClientFingerprints":["ab"]}"#
        let c = try JSONDecoder().decode(PartnerCertificates.self, from: Data(old.utf8))
        #expect(c == PartnerCertificates(encryptionPEM: "E", trustAnchorPEM: "A", tlsClientFingerprints: ["ab"]))
        #expect(c.encryptionPEM(at: Date()) == "E")
        let roundTrip = try JSONDecoder().decode(PartnerCertificates.self, from: JSONEncoder().encode(c))
        #expect(roundTrip == c)
        let rotated = PartnerCertificates(encryptionPEM: "E", trustAnchorPEM: "A", nextEncryptionPEM: "N",
                                          nextEncryptionFrom: try CalendarDay(parsing: "2030-01-02"), crlPEM: "C")
        #expect(try JSONDecoder().decode(PartnerCertificates.self, from: JSONEncoder().encode(rotated)) == rotated)
        #expect(rotated.encryptionPEM(at: Timestamp.parse("2030-01-01T23:59:59Z")!) == "E")
        #expect(rotated.encryptionPEM(at: Timestamp.parse("2030-01-02T00:00:00Z")!) == "N")
    }
}
