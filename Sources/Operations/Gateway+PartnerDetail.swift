import ClaimGateCore
import Envelope
import Foundation
import Store

/// One partner as a page shows it in full (`partner show` and more): every agreement version
/// with when and by whom it was recorded, every stored certificate with the days it has left,
/// the pins and the revocation lists, all at the gateway's clock.
public struct PartnerDetail: Sendable {
    /// One agreement version, oldest first.
    public struct Version: Sendable {
        public let version: Int
        public let recordedAt: Date
        public let reference: String
        public let validUntil: String
        /// The actor of the audit entry that recorded it (`operator:NAME;session=…`); nil when
        /// no entry matches.
        public let recordedBy: String?
        /// What changed, as the audit entry says it (`terms,certificates`); nil when unknown.
        public let change: String?
    }

    /// A stored certificate: `encryption`, `next-encryption`, `trust-anchor`, `trust-anchor-2`…
    public struct CertificateRow: Sendable {
        public let name: String
        public let subject: String
        public let issuer: String
        public let sha256: String
        public let key: String
        public let notAfter: Date
        /// Whole days left at the gateway's clock (0 or less: ended).
        public let daysLeft: Int
    }

    /// A revocation list of the agreement.
    public struct RevocationList: Sendable {
        public let issuer: String
        public let thisUpdate: Date
        public let nextUpdate: Date?
        /// Days until `nextUpdate` at the gateway's clock; nil when it has none.
        public let daysLeft: Int?
        public let revoked: Int
    }

    public let partner: Partner
    public let view: PartnerView
    public let versions: [Version]
    public let certificates: [CertificateRow]
    /// Certificates that could not be read, by name.
    public let unreadable: [String]
    public let revocationLists: [RevocationList]
    /// The gateway's clock when this was read.
    public let now: Date
}

extension Gateway {
    /// One partner with its agreement versions, certificates (days to expiry at the gateway's
    /// clock), pins and revocation lists: what the console's partner page shows. Judged as
    /// `partner show` is.
    /// - Parameters:
    ///   - raw: the partner's id.
    ///   - principal: who asks.
    public func partnerDetail(_ raw: String, by principal: Principal) throws -> PartnerDetail {
        let p = try partner(raw, by: principal)
        let now = clock.now
        let recorded = try store.events(partner: p.id).filter {
            $0.outcome == TransferEvent.Outcome.success.rawValue
                && [TransferEvent.Action.partnerOnboarded.rawValue, TransferEvent.Action.partnerUpdated.rawValue].contains($0.action)
        }
        let versions = try store.agreementVersions(p.id).map { v in
            // The version and its entry are written in one transaction, a moment apart.
            let entry = recorded.filter { abs($0.time.timeIntervalSince(v.recordedAt)) < 2 }
                .min { abs($0.time.timeIntervalSince(v.recordedAt)) < abs($1.time.timeIntervalSince(v.recordedAt)) }
            return PartnerDetail.Version(version: v.version, recordedAt: v.recordedAt, reference: v.agreement.terms.reference,
                                         validUntil: v.agreement.terms.validUntil.description, recordedBy: entry?.actor,
                                         change: entry?.reason)
        }
        let c = p.agreement.certificates
        var rows: [PartnerDetail.CertificateRow] = [], unreadable: [String] = []
        func add(_ name: String, _ pem: String, all: Bool = false) {
            let parsed = all ? try? Certificate.parseAll(pem: pem) : (try? Certificate(pem: pem)).map { [$0] }
            guard let parsed else { unreadable.append(name); return }
            for (i, cert) in parsed.enumerated() {
                rows.append(.init(name: i == 0 ? name : "\(name)-\(i + 1)", subject: cert.subject, issuer: cert.issuer,
                                  sha256: cert.sha256Fingerprint, key: cert.keyKind.description, notAfter: cert.notAfter,
                                  daysLeft: daysLeft(until: cert.notAfter, now: now)))
            }
        }
        add("encryption", c.encryptionPEM)
        if let next = c.nextEncryptionPEM { add("next-encryption", next) }
        add("trust-anchor", c.trustAnchorPEM, all: true)
        var lists: [PartnerDetail.RevocationList] = []
        if let pem = c.crlPEM {
            if let crls = try? CertificateRevocationList.parseAll(pem: pem) {
                lists = crls.map { l in
                    .init(issuer: l.issuer, thisUpdate: l.thisUpdate, nextUpdate: l.nextUpdate,
                          daysLeft: l.nextUpdate.map { daysLeft(until: $0, now: now) }, revoked: l.revokedCount)
                }
            } else {
                unreadable.append("crl")
            }
        }
        return PartnerDetail(partner: p, view: view(p), versions: versions, certificates: rows, unreadable: unreadable,
                             revocationLists: lists, now: now)
    }
}
