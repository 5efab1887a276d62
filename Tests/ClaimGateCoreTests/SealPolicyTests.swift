import ClaimGateCore
import ClaimGateTesting
import Foundation
import Testing

@Suite struct SealPolicyTests {
    static let now = Timestamp.parse("2026-11-21T12:00:00Z")!
    let clock = FixedClock(now)

    func partner(status: PartnerStatus = .active, validUntil: String = "2027-12-31", retention: Int = 30) throws -> Partner {
        let agreement = PartnerAgreement(
            id: try PartnerID("acme-assessors"), name: "ACME", role: .assessor,
            terms: AgreementTerms(reference: "DSA-1", purposes: ["claim-assessment", "fraud-review"],
                                  documentTypes: ["application/pdf", "image/jpeg"], maxRetentionDays: retention,
                                  validUntil: try CalendarDay(parsing: validUntil)),
            certificates: PartnerCertificates(encryptionPEM: "", trustAnchorPEM: ""),
            sshAuthorizedKeys: [], delivery: DeliveryTerms(), masking: [])
        return Partner(agreement: agreement, status: status, version: 1, onboardedAt: Self.now)
    }

    func request(_ p: Partner, purpose: String = "claim-assessment", expiresIn days: Double = 7,
                 types: [String] = ["application/pdf"], certFrom: Double = -10, certTo: Double = 300) -> SealRequest {
        SealRequest(partner: p, purpose: purpose, created: Self.now, expires: Self.now.addingTimeInterval(days * 86_400),
                    documents: types.enumerated().map { ("doc\($0.offset)", $0.element) },
                    encryptionCertificate: CertificateValidity(notBefore: Self.now.addingTimeInterval(certFrom * 86_400),
                                                               notAfter: Self.now.addingTimeInterval(certTo * 86_400)))
    }

    func reason(_ r: SealRequest) -> String? {
        if case .fails(let refusal) = SealPolicy.standard(clock: clock).evaluate(r) { return refusal.reason.code }
        return nil
    }

    @Test func aRequestWithinTheAgreementMeetsThePolicy() throws {
        #expect(reason(request(try partner())) == nil)
        #expect(reason(request(try partner(), expiresIn: 30)) == nil, "exactly created + retention is allowed")
    }

    @Test func suspendedPartnerIsRefused() throws {
        #expect(reason(request(try partner(status: .suspended))) == "partner-suspended")
    }

    @Test func endedAgreementIsRefused() throws {
        #expect(reason(request(try partner(validUntil: "2026-11-20"))) == "agreement-ended")
        // valid_until is the last day on which sharing is allowed.
        #expect(reason(request(try partner(validUntil: "2026-11-21"), expiresIn: 0.25)) == nil)
    }

    @Test func purposeOutsideTheAgreementIsRefused() throws {
        #expect(reason(request(try partner(), purpose: "marketing")) == "purpose-not-allowed")
    }

    @Test func documentTypeOutsideTheAgreementIsRefused() throws {
        #expect(reason(request(try partner(), types: ["application/pdf", "image/png"])) == "document-type-not-allowed")
    }

    @Test func expiryRules() throws {
        #expect(reason(request(try partner(), expiresIn: -1)) == "expiry-in-past")
        #expect(reason(request(try partner(), expiresIn: 0)) == "expiry-in-past")
        #expect(reason(request(try partner(), expiresIn: 30.01)) == "expiry-beyond-retention")
        #expect(reason(request(try partner(validUntil: "2026-11-25"), expiresIn: 7)) == "expiry-beyond-agreement")
    }

    @Test func encryptionCertificateMustBeValidNow() throws {
        #expect(reason(request(try partner(), certFrom: -400, certTo: -1)) == "certificate-not-valid")
        #expect(reason(request(try partner(), certFrom: 1, certTo: 300)) == "certificate-not-valid")
    }

    @Test func refusalsNameWhatToDo() throws {
        guard case .fails(let r) = SealPolicy.standard(clock: clock).evaluate(request(try partner(), purpose: "marketing")) else {
            Issue.record("expected a refusal"); return
        }
        #expect(r.message.contains("claim-assessment, fraud-review"))
    }

    @Test func bundleExpiryIsCheckedAgainstTheClock() throws {
        let m = BundleManifest(bundleID: .random(), claimID: "C1", sender: .init(gatewayID: "g", signingCertificateSHA256: "a"),
                               recipient: .init(partnerID: "p", encryptionCertificateSHA256: "b"), agreementReference: "R",
                               purpose: "p", consentReference: nil, created: Self.now, expires: Self.now.addingTimeInterval(60),
                               metadata: [:], documents: [])
        #expect(BundleNotExpired(clock: FixedClock(Self.now.addingTimeInterval(59))).evaluate(m) == .meets)
        #expect(BundleNotExpired(clock: FixedClock(Self.now.addingTimeInterval(60))).evaluate(m) != .meets)
    }
}
