import Foundation

/// Where an operator stands. `removed` is final: the name stays taken, so the audit trail's
/// `operator:<name>` always means one operator.
public enum OperatorState: String, Sendable, Hashable, Codable, CaseIterable {
    case active, suspended, removed
}

/// The client certificate an operator authenticates with: the gateway keeps only what
/// identifies it, never the private key.
public struct OperatorCertificate: Sendable, Hashable, Codable {
    /// SHA-256 of the certificate's DER, lowercase hex (64 characters).
    public var fingerprint: String
    /// The serial number, hex.
    public var serial: String
    public var notAfter: Date

    public init(fingerprint: String, serial: String, notAfter: Date) {
        self.fingerprint = fingerprint; self.serial = serial; self.notAfter = notAfter
    }

    /// The fingerprint as `openssl x509 -noout -fingerprint -sha256` (OpenSSL 3) prints it:
    /// `sha256 Fingerprint=AA:BB:…`.
    public var openSSLFingerprint: String { "sha256 Fingerprint=" + Self.colonHex(fingerprint) }

    /// `ab12…` as `AB:12:…`.
    public static func colonHex(_ hex: String) -> String {
        var out = ""
        for (i, c) in hex.uppercased().enumerated() {
            if i > 0, i % 2 == 0 { out.append(":") }
            out.append(c)
        }
        return out
    }
}

/// A person who runs the gateway through its operations with a client certificate from the
/// gateway's operator CA, with roles, extra grants and, optionally, a partner scope. As stored:
/// operations read it at every action, so a change is in force at the next one.
public struct Operator: Sendable, Hashable, Codable {
    public var id: OperatorID
    public var roles: Set<Role>
    public var grants: Set<OperatorGrant>
    /// The partners it may act on; nil for every partner.
    public var partners: Set<PartnerID>?
    public var certificate: OperatorCertificate
    public var state: OperatorState
    /// Who added it (an actor as the audit trail names it) and when.
    public var createdBy: String
    public var createdAt: Date
    /// Who changed it last (state, roles, grants) and when; the creation at first.
    public var changedBy: String
    public var changedAt: Date

    public init(id: OperatorID, roles: Set<Role>, grants: Set<OperatorGrant> = [], partners: Set<PartnerID>? = nil,
                certificate: OperatorCertificate, state: OperatorState = .active,
                createdBy: String, createdAt: Date, changedBy: String? = nil, changedAt: Date? = nil) {
        self.id = id; self.roles = roles; self.grants = grants; self.partners = partners
        self.certificate = certificate; self.state = state
        self.createdBy = createdBy; self.createdAt = createdAt
        self.changedBy = changedBy ?? createdBy; self.changedAt = changedAt ?? createdAt
    }

    /// Roles, grants and scope in one line, for audit subjects and listings:
    /// `roles=auditor,claims-operator grants=inbox-export partners=*`.
    public var summary: String {
        let r = roles.sorted().map(\.rawValue).joined(separator: ",")
        let g = grants.isEmpty ? "-" : grants.sorted().map(\.rawValue).joined(separator: ",")
        let p = partners.map { $0.sorted().map(\.rawValue).joined(separator: ",") } ?? "*"
        return "roles=\(r.isEmpty ? "-" : r) grants=\(g) partners=\(p)"
    }
}
