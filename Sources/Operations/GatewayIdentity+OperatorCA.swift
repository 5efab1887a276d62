import ClaimGateCore
import Envelope
import Foundation

/// The operator CA: the gateway's own CA for operators' client certificates, issued by the
/// gateway CA (`ca.pem`/`ca.key`) and kept beside it (`operator-ca.pem`, `operator-ca.key`). It
/// is never a partner's trust anchor (onboarding refuses it), so no operator certificate can act
/// as a partner and no partner certificate as an operator.
extension GatewayIdentity {
    /// The operator CA's certificate and key files in `HOME/identity`.
    public enum OperatorCAFile {
        public static let certificate = "operator-ca.pem", key = "operator-ca.key"
    }

    /// Operator CAs are valid this long (10 years, like the gateway CA).
    static let operatorCADays = 3650

    /// Whether the home has an operator CA (homes created before operators get one on first use).
    public var hasOperatorCA: Bool {
        FileManager.default.fileExists(atPath: directory + "/" + OperatorCAFile.certificate)
            && FileManager.default.fileExists(atPath: directory + "/" + OperatorCAFile.key)
    }

    /// The operator CA certificate.
    public func operatorCA() throws -> Certificate {
        do { return try Certificate(pem: FileSystem.read(directory + "/" + OperatorCAFile.certificate, what: "the operator CA")) }
        catch let e as EnvelopeError { throw Self.damagedOperatorCA(directory, e.message) }
    }

    /// Creates the operator CA, issued by the gateway CA, unless the home has one.
    /// - Returns: whether it was created now.
    /// - Throws: `invalid-argument` when the gateway CA's key is not in the home (a CA imported
    ///   without `--ca-key`): the operator CA cannot be issued then.
    static func createOperatorCA(in dir: String, gatewayID: String, now: Date) throws -> Bool {
        let certPath = dir + "/" + OperatorCAFile.certificate, keyPath = dir + "/" + OperatorCAFile.key
        if FileManager.default.fileExists(atPath: certPath) { return false }
        guard FileManager.default.fileExists(atPath: dir + "/" + File.caKey) else {
            throw ClaimGateError(.invalidArgument, "The gateway CA's key (identity/\(File.caKey)) is not in this home, so the operator CA cannot be issued: put the key there (mode 0600) for one command that adds an operator, then move it back offline.")
        }
        do {
            let root = try Certificate(pem: FileSystem.read(dir + "/" + File.ca, what: "the gateway CA"))
            let rootKey = try PrivateKey(pemFile: dir + "/" + File.caKey)
            let key = try PrivateKey.generate(.p256)
            let from = now.addingTimeInterval(-300)
            let days = min(operatorCADays, max(1, Int(root.notAfter.timeIntervalSince(from) / 86_400)))
            let cert = try CertificateIssuer.issue(.authority("ClaimGate Operator CA", organization: gatewayID, from: from, days: days),
                                                   for: key, issuer: (root, rootKey))
            // The key first, then the certificate: a home with the certificate has its key.
            try FileSystem.writeAtomically(Data(try key.pkcs8PEM().utf8), to: keyPath, mode: 0o600, replace: true)
            try FileSystem.writeAtomically(Data(cert.pem.utf8), to: certPath, mode: 0o644)
            return true
        } catch let e as EnvelopeError {
            throw ClaimGateError(.io, "Cannot create the operator CA in \(dir): \(e.message)")
        }
    }

    /// Issues an operator's client certificate (P-256, extended key usage clientAuth, subject CN
    /// the operator's name) from the operator CA.
    /// - Parameters:
    ///   - days: how long it is valid from `now` (cut to the operator CA's own end).
    /// - Returns: the certificate and its new private key (never stored by the gateway).
    func issueOperatorCertificate(for id: OperatorID, days: Int, now: Date) throws -> (certificate: Certificate, key: PrivateKey) {
        do {
            let ca = try operatorCA()
            let caKey = try PrivateKey(pemFile: directory + "/" + OperatorCAFile.key)
            let key = try PrivateKey.generate(.p256)
            let from = now.addingTimeInterval(-300)
            let until = min(now.addingTimeInterval(Double(days) * 86_400), ca.notAfter)
            let cert = try CertificateIssuer.issue(CertificateProfile(
                commonName: id.rawValue, organization: gatewayID, keyUsage: "critical,digitalSignature", extendedKeyUsage: "clientAuth",
                notBefore: from, notAfter: until), for: key, issuer: (ca, caKey))
            return (cert, key)
        } catch let e as EnvelopeError {
            throw Self.damagedOperatorCA(directory, e.message)
        }
    }

    /// Issues an operator's client certificate, as `issueOperatorCertificate(for:days:now:)`
    /// does, for a public key the operator sent: its private key never reaches the gateway.
    func issueOperatorCertificate(for id: OperatorID, publicKey: PublicKey, days: Int, now: Date) throws -> Certificate {
        let ca: Certificate, caKey: PrivateKey
        do {
            ca = try operatorCA()
            caKey = try PrivateKey(pemFile: directory + "/" + OperatorCAFile.key)
        } catch let e as EnvelopeError {
            throw Self.damagedOperatorCA(directory, e.message)
        }
        do {
            return try CertificateIssuer.issue(CertificateProfile(
                commonName: id.rawValue, organization: gatewayID, keyUsage: "critical,digitalSignature", extendedKeyUsage: "clientAuth",
                notBefore: now.addingTimeInterval(-300), notAfter: min(now.addingTimeInterval(Double(days) * 86_400), ca.notAfter)),
                forPublicKey: publicKey, issuer: (ca, caKey))
        } catch let e as EnvelopeError {
            throw ClaimGateError(.invalidArgument, "Cannot issue a certificate for that public key: \(e.message)")
        }
    }

    private static func damagedOperatorCA(_ dir: String, _ why: String) -> ClaimGateError {
        ClaimGateError(.io, "The operator CA in \(dir) cannot be used (\(why)): restore \(OperatorCAFile.certificate) and \(OperatorCAFile.key) from a backup.")
    }
}
