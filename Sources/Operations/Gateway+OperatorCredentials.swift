import ClaimGateCore
import Envelope
import Foundation

/// What the operator API knows of its callers: a client certificate. The handshake accepts only
/// certificates the operator CA issued; each request then names the operator by the certificate
/// (its CN and SHA-256), and every operation judges that operator as stored at that moment.
extension Gateway {
    /// The handshake-time check of the operator API: the leaf is meant for TLS client
    /// authentication, is not a CA, is within its validity, and carries the operator CA's
    /// signature (checked with the CA's key, not by names), the operator CA itself being valid.
    /// Partner certificates, the gateway's own certificates and foreign CAs fail it.
    /// Intermediates the client sends are not used. Whether the operator may act is decided per
    /// request (`operatorPrincipal`, then `authorize`).
    /// - Parameter chainDER: the client's chain as sent, leaf first (DER).
    public func acceptsOperatorCertificate(chainDER: [[UInt8]]) -> Bool {
        guard let leafDER = chainDER.first, let leaf = try? Certificate(der: leafDER),
              let ca = try? identity.operatorCA() else { return false }
        let now = clock.now
        guard leaf.allowsTLSClientAuthentication, !leaf.isCA, leaf.isSigned(by: ca), leaf.issuer == ca.subject,
              leaf.notBefore <= now, now <= leaf.notAfter, ca.notBefore <= now, now <= ca.notAfter else { return false }
        return true
    }

    /// The principal an operator API request acts as: `operator(CN, fingerprint: SHA-256 of the
    /// DER)`. Nothing is judged here beyond reading the name; every operation then checks the
    /// operator as stored (standing, the certificate on record, roles, scope), so an operator
    /// suspended, removed or re-issued while `serve` runs is refused at its next request.
    /// - Throws: `not-permitted` (`unknown-operator`) when the certificate names no valid operator.
    public func operatorPrincipal(certificateDER der: [UInt8]) throws -> Principal {
        guard let cert = try? Certificate(der: der), let cn = cert.commonName, let id = try? OperatorID(cn) else {
            throw ClaimGateError(.notPermitted, "The client certificate names no operator: use the certificate `claimgate operator add` issued.",
                                 refusal: .unknownOperator)
        }
        return .operator(id, fingerprint: cert.sha256Fingerprint.lowercased())
    }

    /// Issues the operator CA when this home has none (a home made before operators), so the
    /// operator API can serve. Recorded as `key-created` when it is created.
    public func prepareOperatorCA() throws {
        try ensureOperatorCA()
    }
}
