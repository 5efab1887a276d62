import ClaimGateCore
import Foundation

/// A new operator with its credentials: the certificate chain and the private key the gateway
/// issued, handed over once (the gateway keeps only the certificate's fingerprint, serial and
/// end, never the key).
public struct IssuedOperator: Sendable {
    public let `operator`: Operator
    /// The operator's certificate followed by the operator CA (PEM).
    public let certificateChainPEM: String
    /// The private key (PKCS#8 PEM).
    public let privateKeyPEM: String

    /// Writes `DIR/NAME.pem` (the chain, 0644) and `DIR/NAME.key` (the key, 0600), each through
    /// a temporary file, fsync and rename, never over an existing file. The folder is created
    /// (0700) when missing.
    /// - Returns: the two paths written.
    public func write(to directory: String) throws -> (certificate: String, key: String) {
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
}
