import ClaimGateCore
import Foundation

/// A new operator with its credentials: the certificate chain and, when the gateway made the
/// key, the private key, handed over once (the gateway keeps the certificate, never the key).
public struct IssuedOperator: Sendable {
    public let `operator`: Operator
    /// The operator's certificate followed by the operator CA (PEM).
    public let certificateChainPEM: String
    /// The private key (PKCS#8 PEM); nil when the certificate was issued for a public key the
    /// operator sent, whose private key never left its machine.
    public let privateKeyPEM: String?

    /// Writes `DIR/NAME.pem` (the chain, 0644) and `DIR/NAME.key` (the key, 0600), each through
    /// a temporary file, fsync and rename, never over an existing file. The folder is created
    /// (0700) when missing.
    /// - Returns: the two paths written.
    /// - Throws: `invalid-argument` when there is no private key (use `writeCertificateChain`).
    public func write(to directory: String) throws -> (certificate: String, key: String) {
        guard let privateKeyPEM else {
            throw ClaimGateError(.invalidArgument, "Operator \(self.operator.id) holds its own private key: only its certificate can be written.")
        }
        let dir = FileSystem.absolute(directory)
        try FileSystem.makeDirectory(dir, mode: 0o700)
        let cert = dir + "/" + self.operator.id.rawValue + ".pem", key = dir + "/" + self.operator.id.rawValue + ".key"
        for path in [cert, key] where FileManager.default.fileExists(atPath: path) {
            throw ClaimGateError(.invalidArgument, "\(path) already exists: choose another --out folder, or move it away.")
        }
        try FileSystem.writeAtomically(Data(privateKeyPEM.utf8), to: key, mode: 0o600)
        try FileSystem.writeAtomically(Data(certificateChainPEM.utf8), to: cert, mode: 0o644)
        return (cert, key)
    }

    /// Writes `DIR/NAME.pem` (the chain, 0644) alone, as `write(to:)` does: for an operator that
    /// holds its own private key.
    /// - Returns: the path written.
    public func writeCertificateChain(to directory: String) throws -> String {
        let dir = FileSystem.absolute(directory)
        try FileSystem.makeDirectory(dir, mode: 0o700)
        let cert = dir + "/" + self.operator.id.rawValue + ".pem"
        if FileManager.default.fileExists(atPath: cert) {
            throw ClaimGateError(.invalidArgument, "\(cert) already exists: choose another --out folder, or move it away.")
        }
        try FileSystem.writeAtomically(Data(certificateChainPEM.utf8), to: cert, mode: 0o644)
        return cert
    }
}
