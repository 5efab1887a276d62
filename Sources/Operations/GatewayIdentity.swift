import ClaimGateCore
import Envelope
import Foundation
import SFTP

/// The gateway's own certificates and keys, kept in `HOME/identity`.
///
/// One gateway CA issues the signing certificate (CMS signatures on bundles), the TLS server
/// certificate (SAN `localhost`, `127.0.0.1`) and the encryption certificate partners seal
/// inbound reports to. Separate Ed25519 keys serve as SSH host key and SSH client key.
///
/// What sealing needs (CA, signing certificate and key) is loaded up front; the rest is read
/// when asked for, so a seal does not parse TLS and SSH material it never uses.
public struct GatewayIdentity {
    public let gatewayID: String
    public let ca: Certificate
    public let signing: Certificate
    public let signingKey: PrivateKey
    let directory: String

    public enum File {
        public static let ca = "ca.pem", caKey = "ca.key"
        public static let signing = "signing.pem", signingKey = "signing.key"
        public static let tls = "tls.pem", tlsKey = "tls.key"
        public static let encryption = "encryption.pem", encryptionKey = "encryption.key"
        public static let sshHost = "ssh_host_ed25519", sshClient = "ssh_client_ed25519"
        /// Ed25519 key that signs audit checkpoints, and its public half for verifiers.
        public static let auditKey = "audit.key", auditPublicKey = "audit.pub.pem"
    }

    /// Material an admin brings instead of generated keys (`claimgate init --ca-cert …`).
    public struct Import: Sendable {
        public var caCert: String?
        public var caKey: String?
        public var signingCert: String?
        public var signingKey: String?
        public var tlsCert: String?
        public var tlsKey: String?
        public var encryptionCert: String?
        public var encryptionKey: String?
        public init() {}
        public var isEmpty: Bool {
            [caCert, caKey, signingCert, signingKey, tlsCert, tlsKey, encryptionCert, encryptionKey].allSatisfy { $0 == nil }
        }
    }

    /// Loads the identity of an initialised home.
    public static func load(_ home: Home, gatewayID: String) throws -> GatewayIdentity {
        let dir = home.identity
        do {
            return GatewayIdentity(
                gatewayID: gatewayID, ca: try certificate(File.ca, in: dir), signing: try certificate(File.signing, in: dir),
                signingKey: try PrivateKey(pemFile: dir + "/" + File.signingKey), directory: dir)
        } catch let e as EnvelopeError {
            throw damaged(dir, e.message)
        }
    }

    /// The TLS server certificate.
    public func tls() throws -> Certificate { try Self.certificate(File.tls, in: directory) }
    /// The certificate partners encrypt inbound reports to.
    public func encryption() throws -> Certificate { try Self.certificate(File.encryption, in: directory) }
    /// The SSH host public key.
    public func sshHost() throws -> SSHPublicKey { try sshKey(File.sshHost) }
    /// The SSH public key the gateway uses when it pushes to partners.
    public func sshClient() throws -> SSHPublicKey { try sshKey(File.sshClient) }

    private func sshKey(_ file: String) throws -> SSHPublicKey {
        do { return try SSHKeyPair.publicKey(ofPrivateKeyAt: directory + "/" + file) } catch let e as SSHKeyError {
            throw Self.damaged(directory, e.message)
        }
    }

    private static func certificate(_ file: String, in dir: String) throws -> Certificate {
        do { return try Certificate(pem: FileSystem.read(dir + "/" + file, what: "the gateway certificate \(file)")) }
        catch let e as EnvelopeError { throw damaged(dir, "\(file): \(e.message)") }
    }

    private static func damaged(_ dir: String, _ why: String) -> ClaimGateError {
        ClaimGateError(.notInitialised, "The gateway identity in \(dir) is damaged (\(why)): restore it from a backup or run `claimgate init` on a new home.")
    }

    /// Creates the identity in `home.identity`: generated, or imported where `material` names files.
    static func create(in home: Home, gatewayID: String, material: Import, now: Date) throws {
        let dir = home.identity
        let year: TimeInterval = 365 * 86_400
        let from = now.addingTimeInterval(-300)   // tolerate small clock skew between hosts

        // The CA: imported (certificate, and key if more is to be issued) or generated.
        var caCert: Certificate
        var caKey: PrivateKey?
        if let path = material.caCert {
            caCert = try loadCert(path, "--ca-cert")
            guard caCert.isCA else {
                throw ClaimGateError(.invalidArgument, "--ca-cert \(path) is not a CA certificate: pass the certificate that issued the gateway's certificates.")
            }
            if let keyPath = material.caKey { caKey = try loadKey(keyPath, "--ca-key", for: caCert) }
        } else {
            guard material.caKey == nil, material.signingCert == nil, material.tlsCert == nil, material.encryptionCert == nil else {
                throw ClaimGateError(.invalidArgument, "Imported certificates need the CA that issued them: add --ca-cert.")
            }
            let key = try PrivateKey.generate(.p256)
            caCert = try CertificateIssuer.issue(.authority("ClaimGate Gateway CA", organization: gatewayID, from: from, days: 3650),
                                                 for: key, issuer: nil)
            caKey = key
        }

        func pair(cert: String?, key: String?, option: String, profile: CertificateProfile,
                  kind: KeyKind) throws -> (Certificate, PrivateKey) {
            if let cert {
                guard let key else {
                    throw ClaimGateError(.invalidArgument, "--\(option)-cert needs its private key: add --\(option)-key.")
                }
                let c = try loadCert(cert, "--\(option)-cert")
                do { try c.verify(chainsTo: [caCert], at: now) } catch let e as EnvelopeError {
                    throw ClaimGateError(.invalidArgument, "--\(option)-cert \(cert): \(e.message)")
                }
                return (c, try loadKey(key, "--\(option)-key", for: c))
            }
            guard let caKey else {
                throw ClaimGateError(.invalidArgument, "No --\(option)-cert was given and no --ca-key to issue one: pass both --\(option)-cert and --\(option)-key, or --ca-key.")
            }
            let k = try PrivateKey.generate(kind)
            return (try CertificateIssuer.issue(profile, for: k, issuer: (caCert, caKey)), k)
        }

        let signing = try pair(cert: material.signingCert, key: material.signingKey, option: "signing",
            profile: CertificateProfile(commonName: "\(gatewayID) bundle signing", organization: gatewayID,
                                        keyUsage: "critical,digitalSignature,nonRepudiation", extendedKeyUsage: "emailProtection",
                                        notBefore: from, notAfter: from.addingTimeInterval(2 * year)), kind: .p256)
        guard signing.0.allowsContentSigning else {
            throw ClaimGateError(.invalidArgument, "--signing-cert is not meant for signing content: it needs key usage digitalSignature (or nonRepudiation) and, if it has an extended key usage, emailProtection.")
        }
        let tls = try pair(cert: material.tlsCert, key: material.tlsKey, option: "tls",
            profile: CertificateProfile(commonName: "localhost", organization: gatewayID,
                                        keyUsage: "critical,digitalSignature,keyEncipherment", extendedKeyUsage: "serverAuth,clientAuth",
                                        subjectAltNames: ["DNS:localhost", "IP:127.0.0.1"],
                                        notBefore: from, notAfter: from.addingTimeInterval(year)), kind: .p256)
        let encryption = try pair(cert: material.encryptionCert, key: material.encryptionKey, option: "encryption",
            profile: CertificateProfile(commonName: "\(gatewayID) inbound encryption", organization: gatewayID,
                                        keyUsage: "critical,keyAgreement",
                                        notBefore: from, notAfter: from.addingTimeInterval(2 * year)), kind: .p256)

        func put(_ name: String, _ text: String, secret: Bool) throws {
            try FileSystem.writeAtomically(Data(text.utf8), to: dir + "/" + name, mode: secret ? 0o600 : 0o644)
        }
        try put(File.ca, caCert.pem, secret: false)
        if let caKey { try put(File.caKey, try caKey.pkcs8PEM(), secret: true) }
        try put(File.signing, signing.0.pem, secret: false)
        try put(File.signingKey, try signing.1.pkcs8PEM(), secret: true)
        try put(File.tls, tls.0.pem, secret: false)
        try put(File.tlsKey, try tls.1.pkcs8PEM(), secret: true)
        try put(File.encryption, encryption.0.pem, secret: false)
        try put(File.encryptionKey, try encryption.1.pkcs8PEM(), secret: true)
        _ = try createAuditKey(in: dir)
        do {
            _ = try SSHKeyPair.generateEd25519(privatePath: dir + "/" + File.sshHost, comment: "\(gatewayID) host")
            _ = try SSHKeyPair.generateEd25519(privatePath: dir + "/" + File.sshClient, comment: "\(gatewayID) client")
        } catch let e as SSHKeyError {
            throw ClaimGateError(.io, e.message)
        }
    }

    /// Generates the audit checkpoint key (Ed25519), separate from the CMS and TLS keys.
    static func createAuditKey(in dir: String) throws -> MessageSigningKey {
        let key = try MessageSigningKey.generate()
        try FileSystem.writeAtomically(Data(try key.pkcs8PEM().utf8), to: dir + "/" + File.auditKey, mode: 0o600)
        try FileSystem.writeAtomically(Data(key.publicKey.pem.utf8), to: dir + "/" + File.auditPublicKey, mode: 0o644)
        return key
    }

    /// The key that signs audit checkpoints.
    public func auditKey() throws -> MessageSigningKey {
        do { return try MessageSigningKey(pemFile: directory + "/" + File.auditKey) } catch let e as EnvelopeError {
            throw Self.damaged(directory, "\(File.auditKey): \(e.message)")
        }
    }

    /// Whether the home has an audit key (homes created before the audit trail do not).
    public var hasAuditKey: Bool { FileManager.default.fileExists(atPath: directory + "/" + File.auditKey) }

    /// PEM of the signing certificate followed by the CA: what partners pass to `open --trust`.
    public var trustPEM: String { signing.pem + ca.pem }

    private static func loadCert(_ path: String, _ option: String) throws -> Certificate {
        do { return try Certificate.load(pemFile: path)[0] } catch let e as EnvelopeError {
            throw ClaimGateError(.invalidArgument, "\(option): \(e.message)")
        }
    }

    private static func loadKey(_ path: String, _ option: String, for cert: Certificate) throws -> PrivateKey {
        let key: PrivateKey
        do { key = try PrivateKey(pemFile: path) } catch let e as EnvelopeError {
            throw ClaimGateError(.invalidArgument, "\(option): \(e.message)")
        }
        guard key.matches(cert) else {
            throw ClaimGateError(.invalidArgument, "\(option) \(path) does not match its certificate: pass the key that belongs to it.")
        }
        return key
    }
}
