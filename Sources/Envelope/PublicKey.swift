import COpenSSL
import Foundation

/// A public key someone sent to be certified: a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), or the
/// key of a PEM `CERTIFICATE REQUEST` whose signature shows that the sender holds the private key.
/// The private key never comes with it.
public final class PublicKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(owning pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// Reads a PEM public key or certificate signing request (checking the request's signature).
    public convenience init(pem: String) throws {
        defer { OpenSSLErrorQueue.clear() }
        if pem.contains("-----BEGIN CERTIFICATE REQUEST-----") {
            let bio = try MemoryBIO(bytes: Array(pem.utf8))
            guard let request = PEM_read_bio_X509_REQ(bio.bio, nil, nil, nil) else {
                throw EnvelopeError(.invalidKey, "The certificate request is not a valid PEM CSR.")
            }
            defer { X509_REQ_free(request) }
            guard let key = X509_REQ_get_pubkey(request) else {
                throw EnvelopeError(.invalidKey, "The certificate request holds no public key.")
            }
            guard X509_REQ_verify(request, key) == 1 else {
                EVP_PKEY_free(key)
                throw EnvelopeError(.invalidKey, "The certificate request's signature does not match its key: make the CSR again with the private key.")
            }
            self.init(owning: key)
            return
        }
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        guard let key = PEM_read_bio_PUBKEY(bio.bio, nil, nil, nil) else {
            throw EnvelopeError(.invalidKey, "Send a PEM public key (openssl pkey -pubout) or a PEM certificate request (openssl req -new).")
        }
        self.init(owning: key)
    }

    public var kind: KeyKind { KeyKind.of(pkey) }

    /// The key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), whatever it was read from.
    public func pem() throws -> String {
        defer { OpenSSLErrorQueue.clear() }
        let bio = try MemoryBIO()
        guard PEM_write_bio_PUBKEY(bio.bio, pkey) == 1 else {
            throw EnvelopeError(.invalidKey, "Could not encode the public key.")
        }
        return bio.string
    }
}
