import COpenSSL

/// Recovers the AES-256-GCM content key from the recipient info addressed to our certificate,
/// with OpenSSL EVP: RSA-OAEP decryption, or ECDH + X9.63 KDF (SHA-256, ECC-CMS-SharedInfo as
/// RFC 5753 and OpenSSL build it) + AES key unwrap.
enum ContentKeyUnwrap {
    static let notAddressed = "This bundle is not addressed to your certificate: open it with the key it was sealed for."
    static let cannotUnwrap = "The bundle's content key does not decrypt with your key: the bundle was altered, or it was sealed for another key."

    /// The 32-byte content key; the caller wipes it.
    /// The key pair is checked first, as `BundleOpener` does.
    static func contentKey(from recipients: [RecipientInfo], certificate: Certificate, key: PrivateKey) throws -> [UInt8] {
        guard key.matches(certificate) else {
            throw EnvelopeError(.keyMismatch, "The private key does not belong to the certificate given with --cert: pass the matching pair.")
        }
        for info in recipients {
            switch info {
            case .keyTransport(let rid, let encryptedKey) where certificate.isNamed(by: rid):
                return try oaepDecrypt(encryptedKey, key: key)
            case .keyAgreement(let agreement):
                if let match = agreement.keys.first(where: { certificate.isNamed(by: $0.rid) }) {
                    return try agree(agreement, wrapped: match.encryptedKey, certificate: certificate, key: key)
                }
            default:
                continue
            }
        }
        throw EnvelopeError(.decryptFailed, notAddressed)
    }

    static func oaepDecrypt(_ encryptedKey: [UInt8], key: PrivateKey) throws -> [UInt8] {
        guard case .rsa = key.kind else {
            throw EnvelopeError(.decryptFailed, "The bundle's recipient info is RSA key transport, but your key is \(key.kind): open it with the RSA key it was sealed for.")
        }
        guard let ctx = EVP_PKEY_CTX_new(key.pkey, nil) else { throw EnvelopeError(.io, "Out of memory.") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_decrypt_init(ctx) == 1,
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0,
              EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0,
              EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0 else {
            throw EnvelopeError(.decryptFailed, "Could not set up RSA-OAEP with SHA-256.")
        }
        var length = 0
        guard EVP_PKEY_decrypt(ctx, nil, &length, encryptedKey, encryptedKey.count) == 1, length > 0, length <= 1024 else {
            throw EnvelopeError(.decryptFailed, cannotUnwrap)
        }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_decrypt(ctx, &out, &length, encryptedKey, encryptedKey.count) == 1, length == 32 else {
            OPENSSL_cleanse(&out, out.count)
            throw EnvelopeError(.decryptFailed, cannotUnwrap)
        }
        return Array(out.prefix(32))
    }

    static func agree(_ a: RecipientInfo.KeyAgreement, wrapped: [UInt8], certificate: Certificate, key: PrivateKey) throws -> [UInt8] {
        guard case .ec = key.kind, key.kind.isAcceptedForExchange else {
            throw EnvelopeError(.decryptFailed, "The bundle's recipient info is ECDH key agreement, but your key is \(key.kind): open it with the EC P-256 or P-384 key it was sealed for.")
        }
        guard a.point.count == (key.kind == .p256 ? 65 : 97) else {
            throw EnvelopeError(.decryptFailed, "The bundle's ephemeral key is not on your certificate's curve (\(key.kind)): it was not sealed for this key.")
        }
        // The originator's ephemeral key lives on the recipient's curve: build its
        // SubjectPublicKeyInfo from our certificate's algorithm identifier and the sent point.
        let spki = try DERElement(parsing: certificate.subjectPublicKeyInfoDER[...], layer: .bundle, base: 0).children()
        guard spki.count == 2 else { throw EnvelopeError(.invalidCertificate, "The recipient certificate's public key cannot be read.") }
        let ourAlgorithm = try AlgorithmIdentifier(spki[0], "the recipient key algorithm")
        if let curve = a.curve, let ours = ourAlgorithm.parameters, curve.bytes != Array(ours.content) {
            throw EnvelopeError(.decryptFailed, "The bundle's ephemeral key is on \(curve), not on your certificate's curve: it was not sealed for this key.")
        }
        let peerDER = DER.encode(0x30, Array(spki[0].encoded) + DER.encode(0x03, [0] + a.point))
        let peer: OpaquePointer? = peerDER.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_PUBKEY(nil, &p, buf.count)
        }
        guard let peer else { throw EnvelopeError(.decryptFailed, "The bundle's ephemeral public key is not a valid point on your curve: it was altered.") }
        defer { EVP_PKEY_free(peer) }

        guard let ctx = EVP_PKEY_CTX_new(key.pkey, nil) else { throw EnvelopeError(.io, "Out of memory.") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var zLength = 0
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, peer) == 1,
              EVP_PKEY_derive(ctx, nil, &zLength) == 1, (32...66).contains(zLength) else {
            throw EnvelopeError(.decryptFailed, "The bundle's ephemeral public key is not usable with your key: it was altered.")
        }
        var z = [UInt8](repeating: 0, count: zLength)
        defer { OPENSSL_cleanse(&z, z.count) }
        guard EVP_PKEY_derive(ctx, &z, &zLength) == 1 else {
            throw EnvelopeError(.decryptFailed, "ECDH with the bundle's ephemeral key failed.")
        }

        var kek = try x963KDF(z: Array(z.prefix(zLength)), sharedInfo: sharedInfo(wrap: a.wrap, ukm: a.ukm), length: a.wrap.kekLength)
        defer { OPENSSL_cleanse(&kek, kek.count) }
        return try aesUnwrap(wrapped, kek: kek, wrap: a.wrap)
    }

    /// ECC-CMS-SharedInfo (RFC 5753 §7.2): the key wrap AlgorithmIdentifier (no parameters), the
    /// UKM as entityUInfo [0] when present, and the KEK length in bits as suppPubInfo [2].
    static func sharedInfo(wrap: KeyWrap, ukm: [UInt8]?) -> [UInt8] {
        var body = DER.encode(0x30, DER.encode(0x06, wrap.oid.bytes))
        if let ukm { body += DER.encode(0xA0, DER.encode(0x04, ukm)) }
        let bits = UInt32(wrap.kekLength * 8)
        body += DER.encode(0xA2, DER.encode(0x04, [UInt8(bits >> 24), UInt8((bits >> 16) & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8(bits & 0xFF)]))
        return DER.encode(0x30, body)
    }

    /// ANSI X9.63 KDF with SHA-256: SHA-256(Z || counter || SharedInfo), counter from 1.
    static func x963KDF(z: [UInt8], sharedInfo: [UInt8], length: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var counter: UInt32 = 1
        while out.count < length {
            var input = z + [UInt8(counter >> 24), UInt8((counter >> 16) & 0xFF), UInt8((counter >> 8) & 0xFF), UInt8(counter & 0xFF)] + sharedInfo
            defer { OPENSSL_cleanse(&input, input.count) }
            var block = [UInt8](repeating: 0, count: 32)
            var n: UInt32 = 0
            guard EVP_Digest(input, input.count, &block, &n, EVP_sha256(), nil) == 1, n == 32 else {
                throw EnvelopeError(.decryptFailed, "SHA-256 failed in the key derivation.")
            }
            out += block
            OPENSSL_cleanse(&block, block.count)
            counter += 1
        }
        let key = Array(out.prefix(length))
        OPENSSL_cleanse(&out, out.count)
        return key
    }

    /// RFC 3394 AES key unwrap; the content key must come out as 32 bytes.
    static func aesUnwrap(_ wrapped: [UInt8], kek: [UInt8], wrap: KeyWrap) throws -> [UInt8] {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw EnvelopeError(.io, "Out of memory.") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        EVP_CIPHER_CTX_set_flags(ctx, Int32(EVP_CIPHER_CTX_FLAG_WRAP_ALLOW))
        let cipher = wrap == .aes256 ? EVP_aes_256_wrap() : EVP_aes_128_wrap()
        guard EVP_DecryptInit_ex(ctx, cipher, nil, kek, nil) == 1 else {
            throw EnvelopeError(.decryptFailed, "Could not set up AES key unwrap.")
        }
        var out = [UInt8](repeating: 0, count: wrapped.count + 16)
        var n: Int32 = 0
        var tail: Int32 = 0
        let ok = EVP_DecryptUpdate(ctx, &out, &n, wrapped, Int32(wrapped.count)) == 1
            && out.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + Int(n), &tail) } == 1
        guard ok, n + tail == 32 else {
            OPENSSL_cleanse(&out, out.count)
            throw EnvelopeError(.decryptFailed, cannotUnwrap)
        }
        let key = Array(out.prefix(32))
        OPENSSL_cleanse(&out, out.count)
        return key
    }
}
