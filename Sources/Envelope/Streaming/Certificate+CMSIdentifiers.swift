import COpenSSL

/// The identifiers CMS uses to name a certificate, read through OpenSSL's encoders.
extension Certificate {
    /// DER of the issuer Name.
    var issuerNameDER: [UInt8] { Self.encoded { i2d_X509_NAME(X509_get_issuer_name(x509), $0) } }

    /// DER of the serialNumber INTEGER (tag and length included).
    var serialNumberDER: [UInt8] { Self.encoded { i2d_ASN1_INTEGER(X509_get0_serialNumber(x509), $0) } }

    /// DER of the SubjectPublicKeyInfo.
    var subjectPublicKeyInfoDER: [UInt8] { Self.encoded { i2d_PUBKEY(X509_get0_pubkey(x509), $0) } }

    /// The subjectKeyIdentifier extension's octets, when the certificate has one.
    var subjectKeyIdentifier: [UInt8]? {
        guard let ski = X509_get0_subject_key_id(x509) else { return nil }
        let n = Int(ASN1_STRING_length(ski))
        guard n > 0, let p = ASN1_STRING_get0_data(ski) else { return nil }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    /// Whether `rid` (issuer and serial, or subject key identifier) names this certificate.
    func isNamed(by rid: RecipientIdentifier) -> Bool {
        switch rid {
        case .issuerAndSerial(let issuer, let serial):
            return serial == serialNumberDER && issuer == issuerNameDER
        case .subjectKeyIdentifier(let ski):
            return subjectKeyIdentifier == ski
        }
    }

    private static func encoded(_ i2d: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) -> Int32) -> [UInt8] {
        var p: UnsafeMutablePointer<UInt8>?
        let n = i2d(&p)
        guard n > 0, let p else { return [] }
        defer { shim_OPENSSL_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: Int(n)))
    }
}
