import COpenSSL

/// AES-256-GCM decryption through OpenSSL EVP (AES-NI and PCLMULQDQ where present), one owner
/// for the cipher context. No additional authenticated data: the profile has no authAttrs.
final class GCMDecryptor {
    private let ctx: OpaquePointer

    /// - Parameters:
    ///   - key: the 32-byte content key.
    ///   - nonce: the 12-byte nonce from the GCMParameters.
    init(key: [UInt8], nonce: [UInt8]) throws {
        precondition(key.count == 32 && nonce.count == 12)
        guard let c = EVP_CIPHER_CTX_new() else { throw EnvelopeError(.io, "Out of memory.") }
        ctx = c
        guard EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, nil) == 1,
              EVP_DecryptInit_ex(c, nil, nil, key, nonce) == 1 else {
            throw EnvelopeError(.decryptFailed, "Could not set up AES-256-GCM.")
        }
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }

    /// Decrypts `input` into `output` (same length: GCM is a stream mode).
    func update(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer) throws {
        var rest = input
        var out = output
        while !rest.isEmpty {
            let n = min(rest.count, 1 << 30)
            var written: Int32 = 0
            guard EVP_DecryptUpdate(ctx, out.assumingMemoryBound(to: UInt8.self), &written,
                                    rest.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(n)) == 1, Int(written) == n else {
                throw EnvelopeError(.decryptFailed, "AES-256-GCM decryption failed.")
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            out += n
        }
    }

    /// Checks the 16-byte tag; true when the ciphertext is authentic.
    func verify(tag: [UInt8]) -> Bool {
        var t = tag
        guard t.count == 16, EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &t) == 1 else { return false }
        var tail = [UInt8](repeating: 0, count: 32)
        var n: Int32 = 0
        let ok = EVP_DecryptFinal_ex(ctx, &tail, &n) == 1
        OpenSSLErrorQueue.clear()
        return ok && n == 0
    }
}

/// The decrypted bytes of an AuthEnvelopedData's encrypted content, pulled from the outer
/// reader's OCTET STRING segments and decrypted straight into the inner reader's buffer.
final class DecryptingByteSource: ByteSource {
    private let ciphertext: OctetStringCursor
    private let gcm: GCMDecryptor
    /// Plaintext bytes produced so far.
    private(set) var produced: Int64 = 0

    init(ciphertext: OctetStringCursor, gcm: GCMDecryptor) {
        self.ciphertext = ciphertext
        self.gcm = gcm
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count, let piece = try ciphertext.next(max: buffer.count - filled) {
            try gcm.update(piece, into: buffer.baseAddress! + filled)
            filled += piece.count
        }
        produced += Int64(filled)
        return filled
    }

    /// Decrypts and discards whatever ciphertext is left, so the tag can still be checked.
    func drain() throws {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 64)
        defer {
            scratch.initializeMemory(as: UInt8.self, repeating: 0)
            scratch.deallocate()
        }
        while try read(into: scratch) > 0 {}
    }
}
