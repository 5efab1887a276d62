import Foundation

/// What a partner does with the documents it receives.
public enum PartnerRole: String, Sendable, Codable, CaseIterable {
    case assessor
    case institution
}

/// The ways a partner can fetch its bundles.
public enum PullTransport: String, Sendable, Codable, CaseIterable {
    case sftp
    case https
}

/// The terms of the signed data-sharing agreement that govern every exchange with one partner.
public struct AgreementTerms: Sendable, Codable, Equatable {
    /// Reference of the signed data-sharing agreement, e.g. `DSA-2026-014`.
    public var reference: String
    /// Purposes documents may be shared for.
    public var purposes: [String]
    /// Media types that may be shared, e.g. `application/pdf`.
    public var documentTypes: [String]
    /// A bundle's expiry may not be later than its creation plus this many days.
    public var maxRetentionDays: Int
    /// The last day (UTC) on which anything may be shared or accessed; the agreement ends at the
    /// end of this day.
    public var validUntil: CalendarDay

    public init(reference: String, purposes: [String], documentTypes: [String],
                maxRetentionDays: Int, validUntil: CalendarDay) {
        self.reference = reference
        self.purposes = purposes
        self.documentTypes = documentTypes
        self.maxRetentionDays = maxRetentionDays
        self.validUntil = validUntil
    }

    /// The instant the agreement ends: midnight UTC after `validUntil`.
    public var endsAt: Date { validUntil.endOfDay }
}

/// SFTP push target of an assessor.
public struct SFTPPushTarget: Sendable, Codable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var path: String
    /// Pinned host key fingerprint, `SHA256:<base64>` as printed by `ssh-keygen -lf`.
    public var hostKey: String

    public init(host: String, port: Int, user: String, path: String, hostKey: String) {
        self.host = host; self.port = port; self.user = user; self.path = path; self.hostKey = hostKey
    }
}

/// HTTPS push target of a partner.
public struct HTTPSPushTarget: Sendable, Codable, Equatable {
    public var url: String
    public init(url: String) { self.url = url }
}

/// How bundles reach the partner.
public struct DeliveryTerms: Sendable, Codable, Equatable {
    public var pushSFTP: SFTPPushTarget?
    public var pushHTTPS: HTTPSPushTarget?
    public var pull: [PullTransport]

    public init(pushSFTP: SFTPPushTarget? = nil, pushHTTPS: HTTPSPushTarget? = nil, pull: [PullTransport] = []) {
        self.pushSFTP = pushSFTP; self.pushHTTPS = pushHTTPS; self.pull = pull
    }
}

/// Public certificate material of a partner, kept as PEM text so an agreement version is
/// self-contained once onboarded.
public struct PartnerCertificates: Sendable, Codable, Equatable {
    /// The certificate bundles are encrypted to (until `nextEncryptionFrom`, when set).
    public var encryptionPEM: String
    /// The partner's CA: its signatures and TLS client certificates chain here. May hold several
    /// CA certificates (e.g. the old and the new CA while the partner rolls its CA over).
    public var trustAnchorPEM: String
    /// When not empty, only TLS client certificates with one of these SHA-256 fingerprints
    /// (lowercase hex of the DER) identify the partner, even if others chain to its anchor.
    public var tlsClientFingerprints: [String]
    /// When not empty, only TLS client certificates with one of these subjects (RFC 2253, as
    /// `openssl x509 -noout -subject -nameopt RFC2253` prints them) identify the partner.
    public var tlsClientSubjects: [String]
    /// The certificate new bundles are encrypted to from the start (UTC) of `nextEncryptionFrom`
    /// on: a key rotation announced in advance.
    public var nextEncryptionPEM: String?
    /// The UTC day from which `nextEncryptionPEM` replaces `encryptionPEM`.
    public var nextEncryptionFrom: CalendarDay?
    /// The revocation lists (PEM, one per issuing CA) of the partner's CA: when set, TLS client
    /// and signer certificates they list are refused, as are certificates from a CA without one.
    public var crlPEM: String?

    public init(encryptionPEM: String, trustAnchorPEM: String, tlsClientFingerprints: [String] = [], tlsClientSubjects: [String] = [],
                nextEncryptionPEM: String? = nil, nextEncryptionFrom: CalendarDay? = nil, crlPEM: String? = nil) {
        self.encryptionPEM = encryptionPEM
        self.trustAnchorPEM = trustAnchorPEM
        self.tlsClientFingerprints = tlsClientFingerprints
        self.tlsClientSubjects = tlsClientSubjects
        self.nextEncryptionPEM = nextEncryptionPEM
        self.nextEncryptionFrom = nextEncryptionFrom
        self.crlPEM = crlPEM
    }

    /// Whether the agreement pins which client certificates identify the partner.
    public var pinsTLSClient: Bool { !tlsClientFingerprints.isEmpty || !tlsClientSubjects.isEmpty }

    /// Whether a client certificate with this fingerprint and subject is one the agreement allows.
    public func allowsTLSClient(fingerprint: String, subject: String) -> Bool {
        !pinsTLSClient || tlsClientFingerprints.contains(fingerprint.lowercased()) || tlsClientSubjects.contains(subject)
    }

    /// Whether the next encryption certificate is in force at `now` (its day has begun, UTC).
    public func rotationHasStarted(at now: Date) -> Bool {
        guard nextEncryptionPEM != nil, let from = nextEncryptionFrom else { return false }
        return now >= from.startOfDay
    }

    /// The encryption certificate (PEM) new bundles are sealed to at `now`: the next one from its
    /// day on, the current one before.
    public func encryptionPEM(at now: Date) -> String {
        rotationHasStarted(at: now) ? nextEncryptionPEM ?? encryptionPEM : encryptionPEM
    }

    /// The same material with a rotation whose day has come folded in: the next certificate
    /// becomes the encryption certificate and nothing is scheduled.
    public func folded(at now: Date) -> PartnerCertificates {
        guard rotationHasStarted(at: now), let next = nextEncryptionPEM else { return self }
        var c = self
        c.encryptionPEM = next
        c.nextEncryptionPEM = nil
        c.nextEncryptionFrom = nil
        return c
    }

    enum CodingKeys: String, CodingKey {
        case encryptionPEM, trustAnchorPEM, tlsClientFingerprints, tlsClientSubjects, nextEncryptionPEM, nextEncryptionFrom, crlPEM
    }

    // Agreement versions stored before pins, rotation or CRLs existed decode without them.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        encryptionPEM = try c.decode(String.self, forKey: .encryptionPEM)
        trustAnchorPEM = try c.decode(String.self, forKey: .trustAnchorPEM)
        tlsClientFingerprints = try c.decodeIfPresent([String].self, forKey: .tlsClientFingerprints) ?? []
        tlsClientSubjects = try c.decodeIfPresent([String].self, forKey: .tlsClientSubjects) ?? []
        nextEncryptionPEM = try c.decodeIfPresent(String.self, forKey: .nextEncryptionPEM)
        nextEncryptionFrom = try c.decodeIfPresent(CalendarDay.self, forKey: .nextEncryptionFrom)
        crlPEM = try c.decodeIfPresent(String.self, forKey: .crlPEM)
    }
}

/// One version of a partner's agreement, resolved: every file it referenced has been read.
public struct PartnerAgreement: Sendable, Codable, Equatable {
    public var id: PartnerID
    public var name: String
    public var role: PartnerRole
    public var terms: AgreementTerms
    public var certificates: PartnerCertificates
    /// OpenSSH public key lines (`ssh-ed25519 AAAA… comment`) that may log in as this partner.
    public var sshAuthorizedKeys: [String]
    public var delivery: DeliveryTerms
    /// Metadata fields whose values are masked before sealing, e.g. `claimant.national_id`.
    public var masking: [String]

    public init(id: PartnerID, name: String, role: PartnerRole, terms: AgreementTerms,
                certificates: PartnerCertificates, sshAuthorizedKeys: [String],
                delivery: DeliveryTerms, masking: [String]) {
        self.id = id; self.name = name; self.role = role; self.terms = terms
        self.certificates = certificates; self.sshAuthorizedKeys = sshAuthorizedKeys
        self.delivery = delivery; self.masking = masking
    }
}

/// Whether a partner may currently receive anything.
public enum PartnerStatus: String, Sendable, Codable {
    case active
    /// Temporarily gets nothing (`partner suspend`), until `partner resume`.
    case suspended
    /// No longer a partner (`partner remove`); its history is kept.
    case removed
}

/// A partner as the gateway knows it: its current agreement version and its status.
public struct Partner: Sendable, Equatable {
    public var agreement: PartnerAgreement
    public var status: PartnerStatus
    public var version: Int
    public var onboardedAt: Date

    public init(agreement: PartnerAgreement, status: PartnerStatus, version: Int, onboardedAt: Date) {
        self.agreement = agreement; self.status = status; self.version = version; self.onboardedAt = onboardedAt
    }
    public var id: PartnerID { agreement.id }
}
