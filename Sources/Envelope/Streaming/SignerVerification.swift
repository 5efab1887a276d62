import COpenSSL
import Foundation

/// Checks the one signer of a SignedData as `BundleOpener` (OpenSSL's `CMS_verify`) does, in the
/// same order: the signer's chain to the trust anchors with the S/MIME signing purpose, then the
/// signature over the signed attributes, then the content's SHA-256 against the message digest.
enum SignerVerification {
    /// - Returns: the signer's certificate.
    static func verify(_ profile: SignerInfoProfile, certificates: [DERElement], contentSHA256: String,
                       trust: [Certificate], at: Date) throws -> Certificate {
        let certs = try certificates.map { c in
            do { return try Certificate(der: Array(c.encoded)) } catch {
                throw EnvelopeError(.signatureInvalid, "A certificate inside the bundle's signature cannot be parsed: it was altered.")
            }
        }
        guard let signer = certs.first(where: { $0.isNamed(by: profile.signer) }) else {
            throw EnvelopeError(.signatureInvalid, "The bundle's signer certificate is missing.")
        }
        try verifyChain(signer, untrusted: certs, trust: trust, at: at)
        try checkKey(signer, profile.scheme)
        guard verifySignature(profile, key: X509_get0_pubkey(signer.x509)) else {
            throw EnvelopeError(.signatureInvalid, "The bundle's signature does not verify: it was altered after sealing.")
        }
        guard Hex.encode(profile.messageDigest) == contentSHA256 else {
            throw EnvelopeError(.signatureInvalid, "The bundle's signed content does not match its message digest: it was altered after sealing.")
        }
        return signer
    }

    /// X509_verify_cert with the message's certificates as untrusted intermediates and the
    /// `smime_sign` purpose on the whole chain, at `at`: what `CMS_verify` sets up.
    static func verifyChain(_ signer: Certificate, untrusted: [Certificate], trust: [Certificate], at: Date) throws {
        let store = try TrustStore(trust)
        guard let ctx = X509_STORE_CTX_new() else { throw EnvelopeError(.io, "Out of memory.") }
        defer { X509_STORE_CTX_free(ctx) }
        let chain = shim_sk_X509_new_null()
        defer { shim_sk_X509_free(chain) }
        for c in untrusted { _ = shim_sk_X509_push(chain, c.x509) }
        guard X509_STORE_CTX_init(ctx, store.store, signer.x509, chain) == 1,
              X509_STORE_CTX_set_default(ctx, "smime_sign") == 1,
              X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx), X509_PURPOSE_SMIME_SIGN) == 1 else {
            throw EnvelopeError(.untrusted, "Could not set up certificate verification.")
        }
        X509_STORE_CTX_set_time(ctx, 0, time_t(at.timeIntervalSince1970))
        guard X509_verify_cert(ctx) == 1 else {
            let err = X509_STORE_CTX_get_error(ctx)
            OpenSSLErrorQueue.clear()
            if err == X509_V_ERR_INVALID_PURPOSE {
                throw EnvelopeError(.untrusted, "The bundle was signed with a gateway certificate that is not meant for signing (a TLS or encryption certificate): refused.")
            }
            throw EnvelopeError(.untrusted, "The bundle's signer does not chain to the gateway certificate given with --trust: get the sender's current `claimgate identity --pem`.")
        }
    }

    /// ECDSA needs an EC P-256/P-384 key, the RSA schemes an RSA key of at least 2048 bits.
    private static func checkKey(_ signer: Certificate, _ scheme: SignatureScheme) throws {
        let kind = signer.keyKind
        switch (scheme, kind) {
        case (.ecdsaSHA256, .ec) where kind.isAcceptedForExchange: return
        case (.rsaPKCS1SHA256, .rsa), (.rsaPSS, .rsa):
            if kind.isAcceptedForExchange { return }
        default: break
        }
        throw EnvelopeError.disallowed("a \(kind) signing key with \(scheme.name)", accepted: "ECDSA with P-256/P-384 keys or RSA-PSS/PKCS#1 with RSA keys of 2048 bits or more")
    }

    private static func verifySignature(_ p: SignerInfoProfile, key: OpaquePointer?) -> Bool {
        defer { OpenSSLErrorQueue.clear() }
        guard let key, let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), nil, key) == 1, let pctx else { return false }
        switch p.scheme {
        case .ecdsaSHA256: break
        case .rsaPKCS1SHA256:
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 else { return false }
        case .rsaPSS(let salt):
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0,
                  EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, Int32(salt)) > 0 else { return false }
        }
        return EVP_DigestVerify(md, p.signature, p.signature.count, p.signedAttributes, p.signedAttributes.count) == 1
    }
}

extension SignatureScheme {
    var name: String {
        switch self {
        case .ecdsaSHA256: return "ECDSA-SHA256"
        case .rsaPKCS1SHA256: return "RSA PKCS#1 v1.5 SHA-256"
        case .rsaPSS: return "RSA-PSS SHA-256"
        }
    }
}
