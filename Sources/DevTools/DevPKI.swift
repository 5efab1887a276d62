import ClaimGateApp
import Operations
import ClaimGateCore
import Envelope
import Foundation
import SFTP

/// Generates development certificates and keys: a gateway CA with signing, TLS and encryption
/// certificates, and for each sample partner its own CA, an encryption certificate, a signing
/// certificate, a TLS client certificate and an SSH key. For development and tests only:
/// production partners bring their own material.
public enum DevPKI {
    public struct SamplePartner: Sendable {
        public var id: String
        public var organization: String
        public var encryptionKey: KeyKind
        public init(id: String, organization: String, encryptionKey: KeyKind) {
            self.id = id; self.organization = organization; self.encryptionKey = encryptionKey
        }
    }

    /// The two partners shipped in `partners/`.
    public static let samplePartners: [SamplePartner] = [
        .init(id: "acme-assessors", organization: "ACME Loss Assessors Ltd", encryptionKey: .rsa(bits: 3072)),
        .init(id: "st-marys-hospital", organization: "St Mary's Hospital", encryptionKey: .p256),
    ]

    /// Writes the gateway material to `DIR/gateway/` and each partner's to `DIR/<id>/`.
    /// Folders that already exist are left as they are.
    /// - Returns: the folders written.
    @discardableResult
    public static func generate(into dir: String, partners: [SamplePartner] = samplePartners,
                                clock: any WallClock = SystemClock()) throws -> [String] {
        let from = clock.now.addingTimeInterval(-300)
        func days(_ n: Double) -> Date { from.addingTimeInterval(n * 86_400) }
        var written: [String] = []
        try FileSystem.makeDirectory(dir, mode: 0o700)

        func write(_ folder: String, _ name: String, cert: Certificate, key: PrivateKey?) throws {
            try FileSystem.writeAtomically(Data(cert.pem.utf8), to: folder + "/" + name + ".pem", mode: 0o644, replace: true)
            if let key {
                try FileSystem.writeAtomically(Data(try key.pkcs8PEM().utf8), to: folder + "/" + name + ".key", mode: 0o600, replace: true)
            }
        }
        func leaf(_ cn: String, _ org: String, kind: KeyKind, usage: String, eku: String? = nil, sans: [String] = [],
                  issuer: (Certificate, PrivateKey)) throws -> (Certificate, PrivateKey) {
            let k = try PrivateKey.generate(kind)
            let c = try CertificateIssuer.issue(CertificateProfile(commonName: cn, organization: org, keyUsage: usage,
                                                                   extendedKeyUsage: eku, subjectAltNames: sans,
                                                                   notBefore: from, notAfter: days(730)),
                                                for: k, issuer: (issuer.0, issuer.1))
            return (c, k)
        }

        let gw = dir + "/gateway"
        if !FileManager.default.fileExists(atPath: gw) {
            try FileSystem.makeDirectory(gw, mode: 0o700)
            let caKey = try PrivateKey.generate(.p256)
            let ca = try CertificateIssuer.issue(.authority("ClaimGate Dev Gateway CA", organization: "ClaimGate dev", from: from, days: 3650),
                                                 for: caKey, issuer: nil)
            try write(gw, "ca", cert: ca, key: caKey)
            let s = try leaf("claimgate bundle signing", "ClaimGate dev", kind: .p256, usage: "critical,digitalSignature,nonRepudiation",
                             eku: "emailProtection", issuer: (ca, caKey))
            try write(gw, "signing", cert: s.0, key: s.1)
            let t = try leaf("localhost", "ClaimGate dev", kind: .p256, usage: "critical,digitalSignature", eku: "serverAuth,clientAuth",
                             sans: ["DNS:localhost", "IP:127.0.0.1"], issuer: (ca, caKey))
            try write(gw, "tls", cert: t.0, key: t.1)
            let e = try leaf("claimgate inbound encryption", "ClaimGate dev", kind: .p256, usage: "critical,keyAgreement", issuer: (ca, caKey))
            try write(gw, "encryption", cert: e.0, key: e.1)
            written.append(gw)
        }

        for p in partners {
            let folder = dir + "/" + p.id
            if FileManager.default.fileExists(atPath: folder) { continue }
            try FileSystem.makeDirectory(folder, mode: 0o700)
            let caKey = try PrivateKey.generate(.p256)
            let ca = try CertificateIssuer.issue(.authority("\(p.organization) CA", organization: p.organization, from: from, days: 1825),
                                                 for: caKey, issuer: nil)
            try write(folder, "ca", cert: ca, key: caKey)
            let encUsage: String
            if case .rsa = p.encryptionKey { encUsage = "critical,keyEncipherment" } else { encUsage = "critical,keyAgreement" }
            let enc = try leaf("\(p.id) encryption", p.organization, kind: p.encryptionKey, usage: encUsage, issuer: (ca, caKey))
            try write(folder, "encryption", cert: enc.0, key: enc.1)
            let sig = try leaf("\(p.id) signing", p.organization, kind: .p256, usage: "critical,digitalSignature,nonRepudiation",
                               eku: "emailProtection", issuer: (ca, caKey))
            try write(folder, "signing", cert: sig.0, key: sig.1)
            let tls = try leaf("\(p.id)", p.organization, kind: .p256, usage: "critical,digitalSignature", eku: "clientAuth", issuer: (ca, caKey))
            try write(folder, "tls-client", cert: tls.0, key: tls.1)
            do { _ = try SSHKeyPair.generateEd25519(privatePath: folder + "/ssh_ed25519", comment: "ops@\(p.id)") }
            catch let e as SSHKeyError { throw ClaimGateError(.io, e.message) }
            written.append(folder)
        }
        return written
    }
}
