import ClaimGateCore
import COpenSSL
import Foundation

extension EnvelopeError.Code {
    /// The certificate is listed in its CA's revocation list.
    public static let revoked = EnvelopeError.Code("revoked")
    /// The CA's revocation list is past its nextUpdate: nothing it covers is accepted until a
    /// current one is loaded.
    public static let crlExpired = EnvelopeError.Code("crl-expired")
    /// A revocation list that cannot be read, is not signed by a trust anchor, is not yet valid,
    /// or is missing for the CA that issued the certificate.
    public static let invalidCRL = EnvelopeError.Code("invalid-crl")
}

/// An X.509 certificate revocation list (CRL) of a CA. Exchanged with other libraries as DER or
/// PEM, never as pointers.
public final class CertificateRevocationList: @unchecked Sendable, CustomStringConvertible {
    let crl: OpaquePointer

    init(owning crl: OpaquePointer) { self.crl = crl }
    deinit { X509_CRL_free(crl) }

    /// Every CRL in `bytes`: PEM text (one or several `-----BEGIN X509 CRL-----` blocks) or one
    /// DER-encoded CRL. Throws when there is none.
    public static func parse(_ bytes: [UInt8]) throws -> [CertificateRevocationList] {
        if bytes.starts(with: Array("-----BEGIN".utf8)) || bytes.firstRange(of: Array("-----BEGIN X509 CRL-----".utf8)) != nil {
            return try parseAll(pem: String(decoding: bytes, as: UTF8.self))
        }
        return [try CertificateRevocationList(der: bytes)]
    }

    /// Every CRL in a PEM text, in order. Throws when there is none.
    public static func parseAll(pem: String) throws -> [CertificateRevocationList] {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        var out: [CertificateRevocationList] = []
        while let c = PEM_read_bio_X509_CRL(bio.bio, nil, nil, nil) {
            out.append(CertificateRevocationList(owning: c))
        }
        OpenSSLErrorQueue.clear()   // the loop ends on a "no start line" error
        guard !out.isEmpty else {
            throw EnvelopeError(.invalidCRL, "No CRL found: expected PEM ('-----BEGIN X509 CRL-----') or DER, as `openssl ca -gencrl` or `openssl crl` writes it.")
        }
        return out
    }

    /// Parses one DER-encoded CRL.
    public convenience init(der: [UInt8]) throws {
        let c: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_X509_CRL(nil, &p, buf.count)
        }
        guard let c else {
            throw EnvelopeError(.invalidCRL, "The bytes are not a CRL: expected PEM ('-----BEGIN X509 CRL-----') or DER.")
        }
        self.init(owning: c)
    }

    /// Reads every CRL of a PEM or DER file.
    public static func load(file path: String) throws -> [CertificateRevocationList] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EnvelopeError(.unreadable, "Cannot read CRL file \(path): check the path.")
        }
        do { return try parse(Array(data)) } catch let e as EnvelopeError {
            throw EnvelopeError(e.code, "\(path): \(e.message)")
        }
    }

    public var der: [UInt8] {
        var p: UnsafeMutablePointer<UInt8>?
        let n = i2d_X509_CRL(crl, &p)
        guard n > 0, let p else { return [] }
        defer { shim_OPENSSL_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: Int(n)))
    }

    public var pem: String {
        guard let bio = try? MemoryBIO(), PEM_write_bio_X509_CRL(bio.bio, crl) == 1 else { return "" }
        return bio.string
    }

    /// The CA that issued the list (RFC 2253).
    public var issuer: String { Certificate.render(X509_CRL_get_issuer(crl)) }
    public var description: String { "CRL of \(issuer)" }

    /// When the list was issued.
    public var thisUpdate: Date { Certificate.date(X509_CRL_get0_lastUpdate(crl)) }
    /// When the next list is due: past it, this one is expired. Nil when the CA gave none.
    public var nextUpdate: Date? { X509_CRL_get0_nextUpdate(crl).map { Certificate.date($0) } }

    /// How many certificates the list revokes.
    public var revokedCount: Int { Int(shim_sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl))) }

    /// Whether the list names `certificate`'s issuer and serial number. Says nothing about
    /// whether the list itself is genuine: `check(signedBy:at:)` does.
    public func lists(_ certificate: Certificate) -> Bool {
        var entry: OpaquePointer?
        return X509_CRL_get0_by_cert(crl, &entry, certificate.x509) == 1
    }

    /// Whether `ca` issued and signed this list: same name, and the signature verifies with its key.
    public func isSigned(by ca: Certificate) -> Bool {
        guard X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca.x509)) == 0,
              let key = X509_get0_pubkey(ca.x509) else { return false }
        defer { OpenSSLErrorQueue.clear() }
        return X509_CRL_verify(crl, key) == 1
    }

    /// Checks that one of `anchors` signed this list, that it may sign CRLs, and that the list is
    /// current at `at` (issued before it, nextUpdate after it).
    /// - Parameters:
    ///   - anchors: the CA certificates the list must come from.
    ///   - at: the time the list must be current at.
    public func check(signedBy anchors: [Certificate], at: Date) throws {
        guard let ca = anchors.first(where: isSigned(by:)) else {
            throw EnvelopeError(.invalidCRL, "The CRL issued by '\(issuer)' is not signed by any certificate in the trust anchor: give the CRL of the partner's issuing CA.")
        }
        if let usage = ca.keyUsage, !usage.contains(.cRLSign) {
            throw EnvelopeError(.invalidCRL, "The CA '\(ca.subject)' that signed the CRL may not sign CRLs (its key usage lacks cRLSign).")
        }
        if at < thisUpdate {
            throw EnvelopeError(.invalidCRL, "The CRL of '\(issuer)' is not valid before \(Timestamp.format(thisUpdate)) (its thisUpdate): check the clocks.")
        }
        if let next = nextUpdate, at >= next {
            throw EnvelopeError(.crlExpired, "The CRL of '\(issuer)' expired at \(Timestamp.format(next)) (its nextUpdate): get the CA's current CRL.")
        }
    }

    /// Issues a CRL signed by `issuer` with SHA-256, for the dev PKI and tests: production CRLs
    /// come from the partner's CA.
    /// - Parameters:
    ///   - issuer: the CA's certificate and key.
    ///   - revoking: the certificates to list as revoked (at `thisUpdate`).
    ///   - thisUpdate: when the list is issued.
    ///   - nextUpdate: when the next list is due.
    public static func issue(by issuer: (certificate: Certificate, key: PrivateKey), revoking: [Certificate],
                             thisUpdate: Date, nextUpdate: Date) throws -> CertificateRevocationList {
        guard let c = X509_CRL_new() else { throw EnvelopeError(.io, "Out of memory.") }
        let list = CertificateRevocationList(owning: c)
        guard X509_CRL_set_version(c, 1) == 1,
              X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer.certificate.x509)) == 1 else {
            throw EnvelopeError(.invalidCRL, "Could not set up the CRL.")
        }
        func time(_ d: Date) throws -> UnsafeMutablePointer<ASN1_TIME> {
            guard let t = ASN1_TIME_set(nil, time_t(d.timeIntervalSince1970)) else { throw EnvelopeError(.io, "Out of memory.") }
            return t
        }
        let last = try time(thisUpdate), next = try time(nextUpdate)
        defer { ASN1_TIME_free(last); ASN1_TIME_free(next) }
        guard X509_CRL_set1_lastUpdate(c, last) == 1, X509_CRL_set1_nextUpdate(c, next) == 1 else {
            throw EnvelopeError(.invalidCRL, "Could not set the CRL's dates.")
        }
        for cert in revoking {
            guard let r = X509_REVOKED_new() else { throw EnvelopeError(.io, "Out of memory.") }
            guard X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(cert.x509)) == 1,
                  X509_REVOKED_set_revocationDate(r, last) == 1,
                  X509_CRL_add0_revoked(c, r) == 1 else {
                X509_REVOKED_free(r)
                throw EnvelopeError(.invalidCRL, "Could not list '\(cert.subject)' in the CRL.")
            }
        }
        guard X509_CRL_sort(c) == 1, X509_CRL_sign(c, issuer.key.pkey, EVP_sha256()) > 0 else {
            throw EnvelopeError(.invalidCRL, "Could not sign the CRL with '\(issuer.certificate.subject)'.")
        }
        return list
    }
}
