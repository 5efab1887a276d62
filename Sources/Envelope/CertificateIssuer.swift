import COpenSSL
import Foundation

/// What a certificate to issue should say.
public struct CertificateProfile: Sendable {
    public var commonName: String
    public var organization: String?
    public var isCA: Bool
    /// OpenSSL `keyUsage` value, e.g. `critical,digitalSignature`.
    public var keyUsage: String
    /// OpenSSL `extendedKeyUsage` value, e.g. `serverAuth`, or nil for none.
    public var extendedKeyUsage: String?
    /// Subject alternative names, e.g. `["DNS:localhost", "IP:127.0.0.1"]`.
    public var subjectAltNames: [String]
    public var notBefore: Date
    public var notAfter: Date

    public init(commonName: String, organization: String? = nil, isCA: Bool = false, keyUsage: String,
                extendedKeyUsage: String? = nil, subjectAltNames: [String] = [],
                notBefore: Date, notAfter: Date) {
        self.commonName = commonName; self.organization = organization; self.isCA = isCA
        self.keyUsage = keyUsage; self.extendedKeyUsage = extendedKeyUsage
        self.subjectAltNames = subjectAltNames; self.notBefore = notBefore; self.notAfter = notAfter
    }

    /// A CA that issues the other certificates.
    public static func authority(_ cn: String, organization: String?, from: Date, days: Int) -> Self {
        Self(commonName: cn, organization: organization, isCA: true, keyUsage: "critical,keyCertSign,cRLSign",
             notBefore: from, notAfter: from.addingTimeInterval(Double(days) * 86_400))
    }
}

/// Issues X.509 certificates (gateway identity and the dev PKI).
public enum CertificateIssuer {
    /// Issues a certificate for `subjectKey`, signed by `issuer` (or self-signed when nil) with SHA-256.
    /// - Parameters:
    ///   - profile: names, extensions and validity.
    ///   - subjectKey: the key whose public half the certificate carries.
    ///   - issuer: the issuing CA's certificate and key; nil for a self-signed root.
    public static func issue(_ profile: CertificateProfile, for subjectKey: PrivateKey,
                             issuer: (certificate: Certificate, key: PrivateKey)?) throws -> Certificate {
        try issue(profile, subjectKey: subjectKey.pkey, issuer: issuer)
    }

    /// Issues a certificate for a public key someone sent (their private key stays with them).
    /// - Parameters:
    ///   - profile: names, extensions and validity.
    ///   - publicKey: the key the certificate carries.
    ///   - issuer: the issuing CA's certificate and key.
    public static func issue(_ profile: CertificateProfile, forPublicKey publicKey: PublicKey,
                             issuer: (certificate: Certificate, key: PrivateKey)) throws -> Certificate {
        try issue(profile, subjectKey: publicKey.pkey, issuer: issuer)
    }

    private static func issue(_ profile: CertificateProfile, subjectKey: OpaquePointer,
                              issuer: (certificate: Certificate, key: PrivateKey)?) throws -> Certificate {
        guard let x = X509_new() else { throw EnvelopeError(.io, "Out of memory.") }
        let cert = Certificate(owning: x)
        X509_set_version(x, 2)
        var serial = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&serial, 16) == 1 else { throw EnvelopeError(.io, "No randomness for a serial number.") }
        serial[0] &= 0x7F
        guard let bn = BN_bin2bn(serial, 16, nil) else { throw EnvelopeError(.io, "Out of memory.") }
        defer { BN_free(bn) }
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))
        ASN1_TIME_set(X509_getm_notBefore(x), time_t(profile.notBefore.timeIntervalSince1970))
        ASN1_TIME_set(X509_getm_notAfter(x), time_t(profile.notAfter.timeIntervalSince1970))
        X509_set_pubkey(x, subjectKey)

        guard let name = X509_NAME_new() else { throw EnvelopeError(.io, "Out of memory.") }
        defer { X509_NAME_free(name) }
        if let o = profile.organization {
            X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, o, -1, -1, 0)
        }
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, profile.commonName, -1, -1, 0)
        X509_set_subject_name(x, name)
        let issuerCert = issuer?.certificate.x509 ?? x
        X509_set_issuer_name(x, X509_get_subject_name(issuerCert))

        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, issuerCert, x, nil, nil, 0)
        var exts: [(Int32, String)] = [
            (NID_basic_constraints, profile.isCA ? "critical,CA:TRUE" : "critical,CA:FALSE"),
            (NID_key_usage, profile.keyUsage),
            (NID_subject_key_identifier, "hash"),
        ]
        if issuer != nil { exts.append((NID_authority_key_identifier, "keyid:always")) }
        if let eku = profile.extendedKeyUsage { exts.append((NID_ext_key_usage, eku)) }
        if !profile.subjectAltNames.isEmpty {
            exts.append((NID_subject_alt_name, profile.subjectAltNames.joined(separator: ",")))
        }
        for (nid, value) in exts {
            guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else {
                throw EnvelopeError(.invalidCertificate, "Bad certificate extension \(value).")
            }
            defer { X509_EXTENSION_free(ext) }
            X509_add_ext(x, ext, -1)
        }
        // Self-signed: the subject key is a private key (only the PrivateKey entry passes none).
        let signer = issuer?.key.pkey ?? subjectKey
        guard X509_sign(x, signer, EVP_sha256()) > 0 else {
            throw EnvelopeError(.invalidCertificate, "Could not sign the certificate for \(profile.commonName).")
        }
        return cert
    }
}
