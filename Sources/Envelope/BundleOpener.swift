import COpenSSL
import Foundation

/// Opens a sealed bundle with OpenSSL's CMS: decrypts the AuthEnvelopedData with the recipient's
/// key, then verifies the SignedData against trusted gateway certificates and writes the signed
/// content (the tar archive) out.
///
/// OpenSSL 3.0 decrypts and verifies in memory (about 2.7x the bundle's size); the streaming
/// opener replaces this path for large bundles.
public enum BundleOpener {
    /// What was verified.
    public struct Verified: Sendable {
        /// The certificate that signed the content.
        public let signer: Certificate
    }

    /// - Parameters:
    ///   - bundlePath: the sealed bundle (DER/BER).
    ///   - recipient: the partner's encryption certificate.
    ///   - key: its private key.
    ///   - trust: trusted gateway certificates (signing certificate and/or its CA).
    ///   - at: the time the signer's chain must be valid at.
    ///   - scratchPath: a private temporary file for the decrypted SignedData; removed before return.
    ///   - contentPath: where the verified content is written.
    public static func open(bundlePath: String, recipient: Certificate, key: PrivateKey, trust: [Certificate],
                            at: Date, scratchPath: String, contentPath: String) throws -> Verified {
        OpenSSLErrorQueue.clear()
        defer { unlink(scratchPath) }
        try decrypt(bundlePath: bundlePath, recipient: recipient, key: key, to: scratchPath)
        return try verify(signedPath: scratchPath, trust: trust, at: at, to: contentPath)
    }

    static func decrypt(bundlePath: String, recipient: Certificate, key: PrivateKey, to path: String) throws {
        guard let input = BIO_new_file(bundlePath, "rb") else {
            throw EnvelopeError(.unreadable, "Cannot read bundle \(bundlePath): check the path.")
        }
        defer { BIO_free(input) }
        guard let cms = d2i_CMS_bio(input, nil) else {
            throw EnvelopeError(.decryptFailed, "The file is not a CMS bundle (DER): check that it was not truncated or altered.")
        }
        defer { CMS_ContentInfo_free(cms) }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_id_smime_ct_authEnvelopedData else {
            throw EnvelopeError(.decryptFailed, "The file is CMS but not an AuthEnvelopedData bundle: it was not sealed by ClaimGate.")
        }
        guard key.matches(recipient) else {
            throw EnvelopeError(.keyMismatch, "The private key does not belong to the certificate given with --cert: pass the matching pair.")
        }
        let fd = posixOpen(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw EnvelopeError(.io, "Cannot create temporary file \(path).") }
        guard let out = BIO_new_fd(fd, BIO_CLOSE) else { close(fd); throw EnvelopeError(.io, "Out of memory.") }
        defer { BIO_free(out) }
        guard CMS_decrypt(cms, key.pkey, recipient.x509, nil, out, UInt32(CMS_BINARY)) == 1 else {
            let queue = OpenSSLErrorQueue.drain()
            if queue.contains("no matching recipient") || queue.contains("decrypt error") && !queue.contains("cipher") {
                throw EnvelopeError(.decryptFailed, "This bundle is not addressed to your certificate: open it with the key it was sealed for.")
            }
            throw EnvelopeError(.decryptFailed, "The bundle cannot be decrypted: it was altered, truncated or not sealed for this key.")
        }
        guard shim_BIO_flush(out) == 1 else { throw EnvelopeError(.io, "Writing \(path) failed: check free disk space.") }
    }

    static func verify(signedPath: String, trust: [Certificate], at: Date, to contentPath: String) throws -> Verified {
        guard let input = BIO_new_file(signedPath, "rb") else { throw EnvelopeError(.io, "Cannot reopen \(signedPath).") }
        defer { BIO_free(input) }
        guard let cms = d2i_CMS_bio(input, nil) else {
            throw EnvelopeError(.signatureInvalid, "The decrypted content is not CMS SignedData: the bundle was not sealed by ClaimGate.")
        }
        defer { CMS_ContentInfo_free(cms) }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed else {
            throw EnvelopeError(.signatureInvalid, "The decrypted content is not signed: refusing an unsigned bundle.")
        }
        guard shim_CMS_signer_count(cms) == 1 else {
            throw EnvelopeError(.signatureInvalid, "The bundle must carry exactly one signature.")
        }
        let store = try TrustStore(trust)
        let param = X509_STORE_get0_param(store.store)
        X509_VERIFY_PARAM_set_time(param, time_t(at.timeIntervalSince1970))
        // Only a certificate meant for signing content may sign a bundle: a TLS or encryption
        // certificate issued by the same gateway CA is refused.
        X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SMIME_SIGN)
        let fd = posixOpen(contentPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw EnvelopeError(.io, "Cannot create temporary file \(contentPath).") }
        guard let out = BIO_new_fd(fd, BIO_CLOSE) else { close(fd); throw EnvelopeError(.io, "Out of memory.") }
        defer { BIO_free(out) }
        guard CMS_verify(cms, nil, store.store, nil, out, UInt32(CMS_BINARY)) == 1 else {
            unlink(contentPath)
            let queue = OpenSSLErrorQueue.drain()
            if queue.contains("unsuitable certificate purpose") || queue.contains("unsupported certificate purpose") {
                throw EnvelopeError(.untrusted, "The bundle was signed with a gateway certificate that is not meant for signing (a TLS or encryption certificate): refused.")
            }
            if queue.contains("certificate verify error") {
                throw EnvelopeError(.untrusted, "The bundle's signer does not chain to the gateway certificate given with --trust: get the sender's current `claimgate identity --pem`.")
            }
            throw EnvelopeError(.signatureInvalid, "The bundle's signature does not verify: it was altered after sealing.")
        }
        guard shim_BIO_flush(out) == 1 else { throw EnvelopeError(.io, "Writing \(contentPath) failed: check free disk space.") }
        guard let signers = CMS_get0_signers(cms) else {
            throw EnvelopeError(.signatureInvalid, "The bundle's signer certificate is missing.")
        }
        defer { shim_sk_X509_free(signers) }
        guard shim_sk_X509_num(signers) == 1, let x = shim_sk_X509_value(signers, 0), X509_up_ref(x) == 1 else {
            throw EnvelopeError(.signatureInvalid, "The bundle must carry exactly one signature.")
        }
        return Verified(signer: Certificate(owning: x))
    }
}

/// `open(2)`, named apart from Swift's `open` keyword.
func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    Glibc.open(path, flags, mode)
}
