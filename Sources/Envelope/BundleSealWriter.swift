import COpenSSL
import Foundation

/// Streams content into a sealed bundle: CMS SignedData (attached, SHA-256, signing-time) inside
/// CMS AuthEnvelopedData (AES-256-GCM), BER handed to a sink in one pass.
///
/// Recipient key transport: RSA-OAEP with SHA-256 (and MGF1-SHA-256) for an RSA certificate,
/// ephemeral-static ECDH with a SHA-256 X9.63 KDF and AES-256 key wrap for an EC certificate.
/// Memory stays constant whatever the content size.
public final class BundleSealWriter {
    private let envelope: OpaquePointer     // CMS_ContentInfo (AuthEnvelopedData)
    private let signed: OpaquePointer       // CMS_ContentInfo (SignedData)
    private let sink: SinkBIO               // hands the sealed bytes to the caller
    private let envelopeBIO: OpaquePointer  // writes into envelope, out to sink
    private let signedBIO: OpaquePointer    // writes into signed, out to envelopeBIO
    private var finished = false

    /// - Parameters:
    ///   - sink: receives the sealed bundle's bytes in order, in pieces of at most 4 KiB; a thrown
    ///     error fails the write that is under way.
    ///   - signer: the gateway signing certificate.
    ///   - signerKey: its private key.
    ///   - chain: extra certificates to include in the SignedData (the issuing CA).
    ///   - recipient: the partner's encryption certificate (RSA or EC P-256/P-384).
    public init(signer: Certificate, signerKey: PrivateKey, chain: [Certificate], recipient: Certificate,
                sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        let flags = UInt32(CMS_BINARY | CMS_STREAM | CMS_PARTIAL)
        guard let env = CMS_encrypt(nil, nil, EVP_aes_256_gcm(), flags) else {
            throw EnvelopeError(.sealFailed, "Could not create the AuthEnvelopedData.")
        }
        var sinkBIO: SinkBIO?             // the chains above it are freed if init fails
        var envelopeTop: OpaquePointer?
        var sig: OpaquePointer?
        func cleanup() {
            if let envelopeTop, let sinkBIO { Self.freeChain(from: envelopeTop, downTo: sinkBIO.bio) }
            if let sig { CMS_ContentInfo_free(sig) }
            CMS_ContentInfo_free(env)
        }
        do {
            try Self.addRecipient(env, recipient)
            guard CMS_set1_eContentType(env, OBJ_nid2obj(NID_pkcs7_signed)) == 1 else {
                throw EnvelopeError(.sealFailed, "Could not mark the enveloped content as SignedData.")
            }
            let extra = shim_sk_X509_new_null()
            defer { shim_sk_X509_free(extra) }
            for c in chain { _ = shim_sk_X509_push(extra, c.x509) }
            guard let s = CMS_sign(nil, nil, extra, nil, flags) else {
                throw EnvelopeError(.sealFailed, "Could not create the SignedData.")
            }
            sig = s
            guard signer.allowsContentSigning else {
                throw EnvelopeError(.sealFailed, "The gateway signing certificate '\(signer.subject)' is not meant for signing content (key usage or extended key usage): import one with digitalSignature and emailProtection.")
            }
            // No S/MIME capabilities attribute: it would advertise legacy ciphers ClaimGate never uses.
            guard CMS_add1_signer(s, signer.x509, signerKey.pkey, EVP_sha256(), flags | UInt32(CMS_NOSMIMECAP)) != nil else {
                throw EnvelopeError(.sealFailed, "The gateway signing key does not match its certificate or cannot sign: check `claimgate identity --pem`.")
            }
            let out = try SinkBIO(sink: sink)
            sinkBIO = out
            self.sink = out
            guard let eb = BIO_new_CMS(out.bio, env) else { throw EnvelopeError(.sealFailed, "Could not start the envelope stream.") }
            envelopeTop = eb
            guard let sb = BIO_new_CMS(eb, s) else { throw EnvelopeError(.sealFailed, "Could not start the signature stream.") }
            envelopeBIO = eb
            signedBIO = sb
            envelope = env
            signed = s
        } catch {
            cleanup()
            throw error
        }
    }

    private static func addRecipient(_ env: OpaquePointer, _ recipient: Certificate) throws {
        guard let ri = CMS_add1_recipient_cert(env, recipient.x509, UInt32(CMS_KEY_PARAM)),
              let pctx = CMS_RecipientInfo_get0_pkey_ctx(ri) else {
            throw EnvelopeError(.sealFailed, "Cannot encrypt to certificate '\(recipient.subject)': its key is not usable for key transport or agreement.")
        }
        switch recipient.keyKind {
        case .rsa:
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0,
                  EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) > 0,
                  EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 else {
                throw EnvelopeError(.sealFailed, "Could not select RSA-OAEP with SHA-256.")
            }
        case .ec:
            guard EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) > 0 else {
                throw EnvelopeError(.sealFailed, "Could not select the SHA-256 KDF for ECDH.")
            }
        case .other(let name):
            throw EnvelopeError(.sealFailed, "Cannot encrypt to a \(name) key: use RSA or EC P-256/P-384.")
        }
    }

    /// Appends content bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, Int(Int32.max))
            let w = BIO_write(signedBIO, rest.baseAddress, Int32(n))
            guard w > 0 else {
                if let e = sink.error { throw e }
                throw EnvelopeError(.sealFailed, "Sealing failed while encrypting.")
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[Int(w)...])
        }
    }

    /// Finalises the signature and the envelope (GCM tag) and flushes everything to the descriptor.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        guard shim_BIO_flush(signedBIO) == 1 else {
            if let e = sink.error { throw e }
            throw EnvelopeError(.sealFailed, "Finalising the sealed bundle failed.")
        }
    }

    /// Frees the BIOs of one `BIO_new_CMS` chain, from its top down to (not including) `stop`.
    private static func freeChain(from top: OpaquePointer, downTo stop: OpaquePointer) {
        var b: OpaquePointer? = top
        while let cur = b, cur != stop { b = BIO_pop(cur); BIO_free(cur) }
    }

    deinit {
        Self.freeChain(from: signedBIO, downTo: envelopeBIO)
        Self.freeChain(from: envelopeBIO, downTo: sink.bio)
        CMS_ContentInfo_free(signed)
        CMS_ContentInfo_free(envelope)
    }
}
