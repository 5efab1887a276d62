import COpenSSL
import Foundation

extension EnvelopeError.Code {
    /// A message could not be signed (the key is unusable or OpenSSL failed).
    public static let signFailed = EnvelopeError.Code("sign-failed")
}

/// An Ed25519 private key that signs short messages, such as audit checkpoints.
///
/// Never logged, never printed; its PKCS#8 PEM is written only to owner-only files. Loaded from
/// and saved as PKCS#8 PEM (the "BEGIN PRIVATE KEY" block), the format of
/// `openssl genpkey -algorithm ed25519`.
public final class MessageSigningKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// The public half: give it (as `publicKey.pem`) to whoever verifies the signatures.
    public let publicKey: MessageVerifyingKey

    /// Takes ownership of `pkey`, which must be an Ed25519 private key; frees it on failure.
    private init(owning pkey: OpaquePointer) throws {
        do {
            guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 else {
                throw EnvelopeError(.invalidKey,
                    "The key is \(KeyKind.of(pkey)), not Ed25519: generate one with 'openssl genpkey -algorithm ed25519'.")
            }
            publicKey = try MessageVerifyingKey(spkiDER: try MessageVerifyingKey.spkiDER(of: pkey))
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Generates a new Ed25519 key from OpenSSL's random generator.
    public static func generate() throws -> MessageSigningKey {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else {
            throw EnvelopeError(.invalidKey, "This OpenSSL cannot generate Ed25519 keys: use OpenSSL 3 or later.")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_keygen(ctx, &key) == 1, let key else {
            throw EnvelopeError(.invalidKey, "Could not generate an Ed25519 key.")
        }
        return try MessageSigningKey(owning: key)
    }

    /// Reads an unencrypted PEM Ed25519 private key (PKCS#8).
    public convenience init(pem: String) throws {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        guard let k = PEM_read_bio_PrivateKey(bio.bio, nil, nil, nil) else {
            throw EnvelopeError(.invalidKey,
                "The file is not an unencrypted PEM private key: export it without a passphrase in PKCS#8 PEM format.")
        }
        try self.init(owning: k)
    }

    /// Reads an unencrypted PEM Ed25519 private key (PKCS#8) from a file.
    /// - Parameter path: the key file; errors name it.
    public convenience init(pemFile path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw EnvelopeError(.unreadable, "Cannot read signing key \(path): check the path and its permissions.")
        }
        do { try self.init(pem: text) } catch let e as EnvelopeError {
            throw EnvelopeError(e.code, "\(path): \(e.message)")
        }
    }

    /// PKCS#8 PEM text of the private key. Write it only to an owner-only (0600) file.
    public func pkcs8PEM() throws -> String {
        let bio = try MemoryBIO()
        guard PEM_write_bio_PrivateKey(bio.bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw EnvelopeError(.invalidKey, "Could not encode the signing key.")
        }
        return bio.string
    }

    /// Signs `message` with pure Ed25519 (RFC 8032, no pre-hash): 64 bytes.
    /// - Parameter message: the exact bytes to sign.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw EnvelopeError(.io, "Out of memory.") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, nil, nil, pkey) == 1 else {
            throw EnvelopeError(.signFailed, "Could not set up Ed25519 signing.")
        }
        var signature = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(pkey)))
        var length = signature.count
        // OpenSSL wants a non-NULL pointer even for an empty message.
        let storage = message.isEmpty ? [0] : message
        let rc = storage.withUnsafeBufferPointer { m in
            EVP_DigestSign(ctx, &signature, &length, m.baseAddress, message.count)
        }
        guard rc == 1, length > 0, length <= signature.count else {
            throw EnvelopeError(.signFailed, "Ed25519 signing failed.")
        }
        return Array(signature.prefix(length))
    }
}

/// An Ed25519 public key that checks signatures made by a `MessageSigningKey`.
///
/// Read from SPKI PEM (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes it) or DER.
/// Its `keyID` is the lowercase hex SHA-256 of the SubjectPublicKeyInfo DER, the same as
/// `openssl pkey -pubin -in key.pem -outform DER | sha256sum`.
public final class MessageVerifyingKey: @unchecked Sendable, Equatable, CustomStringConvertible {
    let pkey: OpaquePointer
    /// The DER SubjectPublicKeyInfo.
    public let spkiDER: [UInt8]
    /// Lowercase hex SHA-256 of `spkiDER`: names the key in checkpoints and logs.
    public let keyID: String

    /// Parses a DER SubjectPublicKeyInfo holding an Ed25519 key.
    /// - Parameter spkiDER: the DER bytes.
    public init(spkiDER: [UInt8]) throws {
        let parsed: OpaquePointer? = spkiDER.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_PUBKEY(nil, &p, buf.count)
        }
        guard let parsed else {
            throw EnvelopeError(.invalidKey, "The bytes are not a DER public key (SubjectPublicKeyInfo).")
        }
        guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_ED25519 else {
            let kind = KeyKind.of(parsed)
            EVP_PKEY_free(parsed)
            throw EnvelopeError(.invalidKey, "The public key is \(kind), not Ed25519.")
        }
        // Re-encode so that `spkiDER` and `keyID` never depend on trailing bytes or odd encodings.
        let canonical: [UInt8]
        do { canonical = try Self.spkiDER(of: parsed) } catch {
            EVP_PKEY_free(parsed)
            throw error
        }
        pkey = parsed
        self.spkiDER = canonical
        keyID = SHA256Hasher.hex(canonical)
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Reads an SPKI PEM Ed25519 public key.
    public convenience init(pem: String) throws {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        guard let k = PEM_read_bio_PUBKEY(bio.bio, nil, nil, nil) else {
            throw EnvelopeError(.invalidKey, "The text is not a PEM public key: expected '-----BEGIN PUBLIC KEY-----'.")
        }
        defer { EVP_PKEY_free(k) }
        try self.init(spkiDER: try Self.spkiDER(of: k))
    }

    /// Reads an SPKI PEM Ed25519 public key from a file.
    /// - Parameter path: the key file; errors name it.
    public convenience init(pemFile path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw EnvelopeError(.unreadable, "Cannot read public key \(path): check the path and its permissions.")
        }
        do { try self.init(pem: text) } catch let e as EnvelopeError {
            throw EnvelopeError(e.code, "\(path): \(e.message)")
        }
    }

    /// SPKI PEM text (`-----BEGIN PUBLIC KEY-----`).
    public var pem: String {
        guard let bio = try? MemoryBIO(), PEM_write_bio_PUBKEY(bio.bio, pkey) == 1 else {
            OpenSSLErrorQueue.clear()
            return ""
        }
        return bio.string
    }

    public var description: String { "Ed25519 key \(keyID.prefix(16))…" }

    /// Whether `signature` is a valid Ed25519 signature of `message` by this key. Never throws:
    /// any failure, including a malformed signature, is `false`.
    /// - Parameters:
    ///   - signature: the 64-byte signature.
    ///   - message: the exact bytes that were signed.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        defer { OpenSSLErrorQueue.clear() }
        guard signature.count == 64, let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey) == 1 else { return false }
        let storage = message.isEmpty ? [0] : message
        return signature.withUnsafeBufferPointer { s in
            storage.withUnsafeBufferPointer { m in
                EVP_DigestVerify(ctx, s.baseAddress, s.count, m.baseAddress, message.count) == 1
            }
        }
    }

    public static func == (a: MessageVerifyingKey, b: MessageVerifyingKey) -> Bool { a.spkiDER == b.spkiDER }

    /// DER SubjectPublicKeyInfo of any EVP_PKEY (the public half of a private key too).
    static func spkiDER(of pkey: OpaquePointer) throws -> [UInt8] {
        var p: UnsafeMutablePointer<UInt8>?
        let n = i2d_PUBKEY(pkey, &p)
        guard n > 0, let p else { throw EnvelopeError(.invalidKey, "Could not encode the public key.") }
        defer { shim_OPENSSL_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: Int(n)))
    }
}

/// Raw (binary) SHA-256 of many short messages, such as audit entries: one OpenSSL context and one
/// fetched algorithm are reused, so a digest costs no allocation. `SHA256Hasher` is the
/// incremental, hex-output counterpart for files and documents.
///
/// Not safe to share between threads: give each worker its own.
public final class SHA256Digester {
    private let md: OpaquePointer
    private let ctx: OpaquePointer

    public init() {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else {
            preconditionFailure("SHA-256 unavailable in this OpenSSL: \(OpenSSLErrorQueue.drain())")
        }
        guard let ctx = EVP_MD_CTX_new() else {
            EVP_MD_free(md)
            preconditionFailure("Out of memory.")
        }
        self.md = md
        self.ctx = ctx
    }

    deinit {
        EVP_MD_CTX_free(ctx)
        EVP_MD_free(md)
    }

    /// Writes the 32-byte SHA-256 of `bytes` to the start of `out`.
    /// - Parameters:
    ///   - bytes: the message.
    ///   - out: at least 32 bytes.
    public func digest(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= 32, "SHA-256 needs a 32-byte output")
        var length: UInt32 = 0
        // OpenSSL wants a non-NULL pointer even for an empty message.
        var zero: UInt8 = 0
        let ok = withUnsafeMutablePointer(to: &zero) { z in
            EVP_DigestInit_ex(ctx, md, nil) == 1
                && EVP_DigestUpdate(ctx, bytes.baseAddress ?? UnsafeRawPointer(z), bytes.count) == 1
                && EVP_DigestFinal_ex(ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1
        }
        precondition(ok && length == 32, "OpenSSL SHA-256 failed: \(OpenSSLErrorQueue.drain())")
    }

    /// The 32-byte SHA-256 of `bytes`.
    public func digest(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            bytes.withUnsafeBytes { digest($0, into: UnsafeMutableRawBufferPointer(out)) }
            count = 32
        }
    }
}
