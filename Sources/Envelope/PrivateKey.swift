import COpenSSL
import Foundation

/// The kind and size of a public or private key.
public enum KeyKind: Sendable, Hashable, CustomStringConvertible {
    case rsa(bits: Int)
    case ec(curve: String)
    case other(String)

    public static let p256 = KeyKind.ec(curve: "P-256")
    public static let p384 = KeyKind.ec(curve: "P-384")

    public var description: String {
        switch self {
        case .rsa(let bits): return "RSA-\(bits)"
        case .ec(let curve): return "EC \(curve)"
        case .other(let name): return name
        }
    }

    /// RSA of at least 2048 bits, P-256 or P-384: what ClaimGate accepts for partner keys.
    public var isAcceptedForExchange: Bool {
        switch self {
        case .rsa(let bits): return bits >= 2048
        case .ec(let curve): return curve == "P-256" || curve == "P-384"
        case .other: return false
        }
    }

    static func of(_ pkey: OpaquePointer) -> KeyKind {
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS:
            return .rsa(bits: Int(EVP_PKEY_get_bits(pkey)))
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var len = 0
            guard EVP_PKEY_get_group_name(pkey, &name, name.count, &len) == 1 else { return .other("EC") }
            switch String(cChars: name) {
            case "prime256v1", "P-256": return .p256
            case "secp384r1", "P-384": return .p384
            case let other: return .ec(curve: other)
            }
        case EVP_PKEY_ED25519: return .other("Ed25519")
        default: return .other(String(cString: OBJ_nid2sn(EVP_PKEY_get_base_id(pkey))))
        }
    }
}

/// A private key. Never logged, never printed; written only to owner-only files.
public final class PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(owning pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// Generates a new key: RSA of the given size, or an EC key on P-256 or P-384.
    public static func generate(_ kind: KeyKind) throws -> PrivateKey {
        let key: OpaquePointer?
        switch kind {
        case .rsa(let bits): key = shim_EVP_RSA_gen(UInt32(bits))
        case .ec(let curve): key = shim_EVP_EC_gen(curve == "P-384" ? "P-384" : "P-256")
        case .other(let name): throw EnvelopeError(.invalidKey, "Key kind \(name) cannot be generated here.")
        }
        guard let key else { throw EnvelopeError(.invalidKey, "Could not generate a \(kind) key.") }
        return PrivateKey(owning: key)
    }

    /// Reads an unencrypted PEM private key (PKCS#8 or traditional).
    public convenience init(pem: String) throws {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        guard let k = PEM_read_bio_PrivateKey(bio.bio, nil, nil, nil) else {
            throw EnvelopeError(.invalidKey, "The file is not an unencrypted PEM private key: export it without a passphrase in PEM format.")
        }
        self.init(owning: k)
    }

    public convenience init(pemFile path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw EnvelopeError(.unreadable, "Cannot read private key \(path): check the path and its permissions.")
        }
        do { try self.init(pem: text) } catch let e as EnvelopeError {
            throw EnvelopeError(e.code, "\(path): \(e.message)")
        }
    }

    public var kind: KeyKind { KeyKind.of(pkey) }

    /// PKCS#8 PEM text.
    public func pkcs8PEM() throws -> String {
        let bio = try MemoryBIO()
        guard PEM_write_bio_PrivateKey(bio.bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw EnvelopeError(.invalidKey, "Could not encode the private key.")
        }
        return bio.string
    }

    /// Its public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes
    /// it): what an operator sends to have a certificate issued while its key stays with it.
    public func publicKeyPEM() throws -> String {
        let bio = try MemoryBIO()
        guard PEM_write_bio_PUBKEY(bio.bio, pkey) == 1 else {
            OpenSSLErrorQueue.clear()
            throw EnvelopeError(.invalidKey, "Could not encode the public key.")
        }
        return bio.string
    }

    /// Whether this key is the private half of `certificate`'s public key.
    public func matches(_ certificate: Certificate) -> Bool {
        defer { OpenSSLErrorQueue.clear() }
        return X509_check_private_key(certificate.x509, pkey) == 1
    }
}
