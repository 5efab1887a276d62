import ClaimGateCore
import Envelope
import Foundation
import SFTP

/// The fields of two agreement versions that differ, for a person to read before approving a
/// change: terms as they are written, certificates by SHA-256 fingerprint (never their text),
/// SSH keys by fingerprint. With no `before`, every field of the agreement (an onboarding).
public struct AgreementDiff: Sendable, Hashable, Encodable {
    /// One field: its name as in the agreement file, its value before (nil: onboarding) and after.
    public struct Line: Sendable, Hashable, Encodable {
        public let field: String
        public let before: String?
        public let after: String

        /// `field: before -> after`, or `field: after`.
        public var text: String { before.map { "\(field): \($0) -> \(after)" } ?? "\(field): \(after)" }
    }

    public let lines: [Line]

    public init(from before: PartnerAgreement?, to after: PartnerAgreement) {
        let old = before.map(Self.fields), new = Self.fields(after)
        lines = new.compactMap { field, value in
            guard let old else { return Line(field: field, before: nil, after: value) }
            let was = old.first { $0.0 == field }?.1 ?? "-"
            return was == value ? nil : Line(field: field, before: was, after: value)
        }
    }

    /// Every field as one readable value, in the agreement file's order.
    static func fields(_ a: PartnerAgreement) -> [(String, String)] {
        func list(_ xs: [String]) -> String { xs.isEmpty ? "-" : xs.joined(separator: ", ") }
        func certificates(_ pem: String?) -> String {
            guard let pem else { return "-" }
            guard let certs = try? Certificate.parseAll(pem: pem), !certs.isEmpty else { return "unreadable" }
            return certs.map { "\($0.subject) sha256=\($0.sha256Fingerprint)" }.joined(separator: ", ")
        }
        let c = a.certificates
        let sftp = a.delivery.pushSFTP.map { "sftp://\($0.user)@\($0.host):\($0.port)\($0.path) host key \($0.hostKey)" }
        return [
            ("name", a.name), ("role", a.role.rawValue),
            ("agreement.reference", a.terms.reference), ("agreement.purposes", list(a.terms.purposes)),
            ("agreement.document_types", list(a.terms.documentTypes)),
            ("agreement.max_retention_days", "\(a.terms.maxRetentionDays)"), ("agreement.valid_until", a.terms.validUntil.description),
            ("certificates.encryption", certificates(c.encryptionPEM)),
            ("certificates.next_encryption", c.nextEncryptionPEM.map { certificates($0) + " from \(c.nextEncryptionFrom?.description ?? "-")" } ?? "-"),
            ("certificates.trust_anchor", certificates(c.trustAnchorPEM)),
            ("certificates.tls_client.fingerprints", list(c.tlsClientFingerprints)),
            ("certificates.tls_client.subjects", list(c.tlsClientSubjects)),
            ("certificates.crl", c.crlPEM.map { "sha256=" + SHA256Hasher.hex(Array($0.utf8)) } ?? "-"),
            ("ssh.authorized_keys", list(a.sshAuthorizedKeys.map { (try? SSHPublicKey(authorizedKeyLine: $0).fingerprint) ?? "unreadable" })),
            ("delivery.push.sftp", sftp ?? "-"), ("delivery.push.https", a.delivery.pushHTTPS?.url ?? "-"),
            ("delivery.pull", list(a.delivery.pull.map(\.rawValue))), ("masking", list(a.masking)),
        ]
    }
}
