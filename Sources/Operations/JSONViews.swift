import ClaimGateCore
import Foundation
import SFTP
import Audit

// Each view is what `--json` prints and the operator API answers; a command in remote mode
// decodes the API's answer into the same view and prints it as a local command does.

/// What `--json` prints for a bundle.
public struct BundleView: Codable, Sendable {
    public let id: String
    public let partner: String
    public let claimID: String
    public let purpose: String
    public var state: String
    public let created: String
    public let expires: String
    public var file: String
    public let size: Int64
    public let manifestSHA256: String
    public let documents: [BundleManifest.Document]?

    enum CodingKeys: String, CodingKey {
        case id, partner, purpose, state, created, expires, file, size, documents
        case claimID = "claim_id"
        case manifestSHA256 = "manifest_sha256"
    }

    public init(_ b: BundleRecord, withDocuments: Bool) {
        id = b.id.description; partner = b.partnerID.rawValue; claimID = b.claimID; purpose = b.purpose
        state = b.state.rawValue; created = Timestamp.format(b.created); expires = Timestamp.format(b.expires)
        file = b.filePath; size = b.fileSize; manifestSHA256 = b.manifestSHA256
        documents = withDocuments ? (try? BundleManifest.decode(b.manifestJSON))?.documents : nil
    }
}

/// What `--json` prints for a partner.
public struct PartnerView: Codable, Sendable {
    public let id: String
    public let name: String
    public let role: String
    public let status: String
    public let agreementVersion: Int
    public let agreementReference: String
    public let purposes: [String]
    public let documentTypes: [String]
    public let maxRetentionDays: Int
    public let validUntil: String
    public let encryptionCertificate: CertificateView?
    public let sshKeys: [String]
    public let pull: [String]
    public let pushSFTP: SFTPPushTarget?
    public let pushHTTPS: HTTPSPushTarget?
    public let masking: [String]

    public struct CertificateView: Codable, Sendable {
        public let subject: String
        public let sha256: String
        public let key: String
        public let notAfter: String
        enum CodingKeys: String, CodingKey { case subject, sha256, key; case notAfter = "not_after" }
    }

    enum CodingKeys: String, CodingKey {
        case id, name, role, status, purposes, masking, pull
        case agreementVersion = "agreement_version", agreementReference = "agreement_reference"
        case documentTypes = "document_types", maxRetentionDays = "max_retention_days", validUntil = "valid_until"
        case encryptionCertificate = "encryption_certificate", sshKeys = "ssh_key_fingerprints"
        case pushSFTP = "push_sftp", pushHTTPS = "push_https"
    }

    public init(_ p: Partner, certificate: (subject: String, sha256: String, key: String, notAfter: Date)?) {
        let a = p.agreement
        id = a.id.rawValue; name = a.name; role = a.role.rawValue; status = p.status.rawValue
        agreementVersion = p.version; agreementReference = a.terms.reference; purposes = a.terms.purposes
        documentTypes = a.terms.documentTypes; maxRetentionDays = a.terms.maxRetentionDays
        validUntil = a.terms.validUntil.description
        encryptionCertificate = certificate.map { CertificateView(subject: $0.subject, sha256: $0.sha256, key: $0.key, notAfter: Timestamp.format($0.notAfter)) }
        sshKeys = a.sshAuthorizedKeys.compactMap { try? SSHPublicKey(authorizedKeyLine: $0).fingerprint }
        pull = a.delivery.pull.map(\.rawValue); pushSFTP = a.delivery.pushSFTP; pushHTTPS = a.delivery.pushHTTPS
        masking = a.masking
    }
}

public enum JSONOutput {
    public static func string(_ value: some Encodable) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }
}

import Store
public typealias StoredEvent = Store.StoredEvent

/// What `--json` prints for an event.
public struct StoredEventView: Codable, Sendable {
    public let seq: Int64
    public let time: String
    public let actor: String
    public let action: String
    public let outcome: String
    public let transport: String
    public let reason: String?
    public init(_ e: StoredEvent) {
        seq = e.sequence; time = Timestamp.format(e.time); actor = e.actor; action = e.action
        outcome = e.outcome; transport = e.transport; reason = e.reason
    }
}

/// What `--json` prints for a delivery.
public struct DeliveryView: Codable, Sendable {
    public let bundle: String
    public let partner: String
    public let transport: String
    public let target: String
    public let state: String
    public let attempts: Int
    public let lastAttempt: String?
    public let lastErrorCode: String?
    public let lastError: String?
    public let delivered: String?

    enum CodingKeys: String, CodingKey {
        case bundle, partner, transport, target, state, attempts, delivered
        case lastAttempt = "last_attempt", lastErrorCode = "last_error_code", lastError = "last_error"
    }

    public init(_ d: Delivery) {
        bundle = d.bundleID.description; partner = d.partnerID.rawValue; transport = d.transport.rawValue
        target = d.target; state = d.state.rawValue; attempts = d.attempts
        lastAttempt = d.lastAttemptAt.map(Timestamp.format); lastErrorCode = d.lastErrorCode; lastError = d.lastError
        delivered = d.deliveredAt.map(Timestamp.format)
    }
}

/// What `--json` prints for an inbound report.
public struct InboundView: Codable, Sendable {
    public let id: String
    public let partner: String
    public let fileName: String
    public let received: String
    public let bytes: Int64
    public let state: String
    public let reason: String?
    public let transport: String
    public let bundleID: String?
    public let claimID: String?
    public let purpose: String?
    public let documents: [BundleManifest.Document]?

    enum CodingKeys: String, CodingKey {
        case id, partner, received, bytes, state, reason, transport, purpose, documents
        case fileName = "file_name", bundleID = "bundle_id", claimID = "claim_id"
    }

    public init(_ r: InboundReport) {
        id = r.id.uuidString.lowercased(); partner = r.partnerID.rawValue; fileName = r.fileName
        received = Timestamp.format(r.received); bytes = r.bytes; state = r.state.rawValue; reason = r.reason
        transport = r.transport.rawValue; bundleID = r.bundleID?.description; claimID = r.claimID; purpose = r.purpose
        documents = r.state == .accepted ? r.manifestJSON.flatMap { try? BundleManifest.decode($0) }?.documents : nil
    }
}

/// What `--json` prints for an operator.
public struct OperatorView: Codable, Sendable {
    public let name: String
    public let state: String
    public let roles: [String]
    public let grants: [String]
    /// The partners it may act on; nil (`null`) for every partner.
    public let partners: [String]?
    /// SHA-256 of the certificate's DER, lowercase hex.
    public let certificateSHA256: String
    /// As `openssl x509 -noout -fingerprint -sha256` prints it.
    public let certificateFingerprint: String
    public let certificateSerial: String
    public let certificateNotAfter: String
    public let createdBy: String
    public let createdAt: String
    public let changedBy: String
    public let changedAt: String
    /// Its web console credentials, in `operator show` (absent from listings).
    public var console: ConsoleStatusView?

    enum CodingKeys: String, CodingKey {
        case console
        case name, state, roles, grants, partners
        case certificateSHA256 = "certificate_sha256", certificateFingerprint = "certificate_fingerprint"
        case certificateSerial = "certificate_serial", certificateNotAfter = "certificate_not_after"
        case createdBy = "created_by", createdAt = "created_at", changedBy = "changed_by", changedAt = "changed_at"
    }

    public init(_ o: Operator) {
        name = o.id.rawValue; state = o.state.rawValue
        roles = o.roles.sorted().map(\.rawValue); grants = o.grants.sorted().map(\.rawValue)
        partners = o.partners.map { $0.sorted().map(\.rawValue) }
        certificateSHA256 = o.certificate.fingerprint; certificateFingerprint = o.certificate.openSSLFingerprint
        certificateSerial = o.certificate.serial; certificateNotAfter = Timestamp.format(o.certificate.notAfter)
        createdBy = o.createdBy; createdAt = Timestamp.format(o.createdAt); changedBy = o.changedBy; changedAt = Timestamp.format(o.changedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(state, forKey: .state)
        try c.encode(roles, forKey: .roles); try c.encode(grants, forKey: .grants)
        try c.encode(partners, forKey: .partners)   // null, not left out, for every partner
        try c.encode(certificateSHA256, forKey: .certificateSHA256)
        try c.encode(certificateFingerprint, forKey: .certificateFingerprint)
        try c.encode(certificateSerial, forKey: .certificateSerial)
        try c.encode(certificateNotAfter, forKey: .certificateNotAfter)
        try c.encode(createdBy, forKey: .createdBy); try c.encode(createdAt, forKey: .createdAt)
        try c.encode(changedBy, forKey: .changedBy); try c.encode(changedAt, forKey: .changedAt)
        try c.encodeIfPresent(console, forKey: .console)
    }
}

/// Whether an operator can sign in to the web console: a password set, a TOTP enrolled, and
/// the end of a lock in force (nil when none).
public struct ConsoleStatusView: Codable, Sendable, Hashable {
    public let password: Bool
    public let totp: Bool
    public let lockedUntil: String?

    enum CodingKeys: String, CodingKey { case password, totp, lockedUntil = "locked_until" }

    public init(password: Bool, totp: Bool, lockedUntil: String?) {
        self.password = password; self.totp = totp; self.lockedUntil = lockedUntil
    }

    /// `password set, TOTP enrolled`, `no password, no TOTP (cannot sign in)`, with the lock.
    public var summary: String {
        var s = (password ? "password set" : "no password") + ", " + (totp ? "TOTP enrolled" : "no TOTP")
        if !(password && totp) { s += " (cannot sign in)" }
        if let lockedUntil { s += ", locked until \(lockedUntil)" }
        return s
    }
}

/// What `audit verify --json` prints, and the operator API's `GET /v1/audit/verify` answers.
public struct AuditVerificationView: Codable, Sendable {
    public let intact: Bool
    public let entries: Int64
    public let last_sequence: Int64
    public let last_sealed_sequence: Int64
    public let unsealed: Int64
    public let checkpoints: Int
    public let signatures_checked: Bool
    public let problem: String?
    public let problem_code: String?
    public let problem_sequence: Int64?
    public let warnings: [String]

    public init(_ result: AuditVerification) {
        intact = result.isIntact; entries = result.entryCount; last_sequence = result.lastSequence
        last_sealed_sequence = result.lastSealedSequence; unsealed = result.unsealedCount
        checkpoints = result.checkpointCount; signatures_checked = result.signaturesChecked
        problem = result.problem?.message; problem_code = result.problem?.code.name
        problem_sequence = result.problem?.sequence; warnings = result.warnings
    }
}
