import COpenSSL
import Foundation

/// Opens a sealed bundle in one streaming pass with constant memory, holding it to ClaimGate's
/// strict profile (docs/streaming-opener.md).
///
/// The bundle is read with `read(2)` in fixed chunks. Its AuthEnvelopedData header is parsed and
/// checked before any crypto; the content key is recovered with the recipient's key; the
/// ciphertext is decrypted with AES-256-GCM as it streams, and the decrypted SignedData is parsed
/// in the same pass, its content written to a new file while being hashed with SHA-256. The file
/// is handed over only after the GCM tag and then the signer (chain, signature over the signed
/// attributes, message digest) have verified; on any failure it is removed and nothing is left.
///
/// ```swift
/// let opener = StreamingBundleOpener(recipient: cert, key: key, trust: gatewayCertificates)
/// let verified = try opener.open(bundlePath: path, into: stagingFolder, at: clock.now)
/// // verified.contentPath: the tar archive, verified.signer: who signed it
/// ```
public struct StreamingBundleOpener: Sendable {
    /// Buffer sizes and the caps that bound memory on hostile input. Every field has a default.
    public struct Configuration: Sendable {
        /// Bytes per `read(2)` of the bundle, and the size of each of the two stream buffers.
        /// Default 256 KiB.
        public var readChunkSize: Int = 256 << 10
        /// The content is hashed and written in pieces of this size (rounded up to 4 KiB).
        /// Default 1 MiB.
        public var writeBufferSize: Int = 1 << 20
        /// Write the content file with O_DIRECT where the file system allows it: the data goes to
        /// disk without filling the page cache, which keeps large bundles from pushing other
        /// files out of memory and from stalling on dirty-page writeback; reading the file back
        /// then comes from disk. Default true.
        public var directWrites: Bool = true
        /// Most containers open at once in either layer, constructed OCTET STRING segments
        /// included. Default 16 (a bundle needs 6).
        public var maxDepth: Int = 16
        /// Cap on the recipientInfos SET. Default 64 KiB.
        public var maxRecipientInfoBytes: Int = 64 << 10
        /// Most recipients. Default 16.
        public var maxRecipients: Int = 16
        /// Cap on the certificates inside the SignedData. Default 256 KiB.
        public var maxCertificateBytes: Int = 256 << 10
        /// Most certificates inside the SignedData. Default 16.
        public var maxCertificates: Int = 16
        /// Cap on the signerInfos SET. Default 64 KiB.
        public var maxSignerInfoBytes: Int = 64 << 10

        public init() {}
    }

    /// What was verified, and where the content is.
    public struct Verified: Sendable {
        /// The verified content (the tar archive), a file of mode 0600 in the folder given to
        /// `open`. The caller owns it and removes it when done.
        public let contentPath: String
        /// The certificate that signed the content.
        public let signer: Certificate
        /// The content's size in bytes.
        public let contentLength: Int64
        /// The content's SHA-256, lowercase hex (the signed message digest).
        public let contentSHA256: String
    }

    public let recipient: Certificate
    let key: PrivateKey
    public let trust: [Certificate]
    public let configuration: Configuration

    /// - Parameters:
    ///   - recipient: the certificate the bundle must be encrypted to.
    ///   - key: its private key.
    ///   - trust: trust anchors for the signer's chain (the sender's signing certificate and/or CA).
    ///   - configuration: buffer sizes and caps.
    public init(recipient: Certificate, key: PrivateKey, trust: [Certificate], configuration: Configuration = Configuration()) {
        self.recipient = recipient
        self.key = key
        self.trust = trust
        self.configuration = configuration
    }

    /// What was verified, for content handed to a `StreamingContentSink`.
    public struct VerifiedStream: Sendable {
        /// The certificate that signed the content.
        public let signer: Certificate
        /// The content's size in bytes.
        public let contentLength: Int64
        /// The content's SHA-256, lowercase hex (the signed message digest).
        public let contentSHA256: String
        /// What the sink threw (from `append` or `finish`), if anything. The envelope verified,
        /// but the sink did not complete its work: its owner refuses the content with this error.
        public let contentError: (any Error)?
    }

    /// Opens `bundlePath` and writes its verified content to a new file in `directory`.
    /// - Parameters:
    ///   - bundlePath: the sealed bundle.
    ///   - directory: an existing, private folder for the content file (created with O_EXCL, 0600).
    ///   - at: the time the signer's chain must be valid at.
    /// - Returns: the content file's path and the signer, once everything verified.
    /// - Throws: `EnvelopeError`: `.malformed` (truncated, trailing data, over a cap),
    ///   `.disallowed` (outside the profile), `.keyMismatch`, `.decryptFailed` (not addressed to
    ///   this certificate, key unwrap or GCM tag failure), `.signatureInvalid`, `.untrusted`,
    ///   `.unreadable` or `.io`.
    public func open(bundlePath: String, into directory: String, at: Date) throws -> Verified {
        let c = configuration
        // Refusals of the header come before the content file exists.
        let output = LazyContentFile(directory: directory, bufferSize: c.writeBufferSize, direct: c.directWrites)
        let v = try open(bundlePath: bundlePath, at: at, into: output)
        if let e = v.contentError { throw e }
        guard let file = output.file else { throw EnvelopeError(.io, "The content file was not created.") }
        file.keep()
        return Verified(contentPath: file.path, signer: v.signer, contentLength: v.contentLength, contentSHA256: v.contentSHA256)
    }

    /// Opens `bundlePath`, handing its content to `sink` as it is decrypted, and returns once the
    /// GCM tag, the signer's chain and the signature have verified.
    ///
    /// The sink sees plaintext before it is authenticated; see `StreamingContentSink` for what it
    /// must do with it. When this throws, the sink's owner discards everything the sink made.
    /// - Parameters:
    ///   - bundlePath: the sealed bundle.
    ///   - at: the time the signer's chain must be valid at.
    ///   - sink: receives the content in order, then `finish()` once the tag verified.
    /// - Returns: the signer, the content's length and SHA-256, and the sink's error if it failed.
    /// - Throws: `EnvelopeError`, as `open(bundlePath:into:at:)`. The sink's own errors are not
    ///   thrown but returned in `contentError`.
    public func open(bundlePath: String, at: Date, into sink: some StreamingContentSink) throws -> VerifiedStream {
        OpenSSLErrorQueue.clear()
        let c = configuration
        let outer = BERStreamReader(source: try FileByteSource(path: bundlePath, chunkSize: c.readChunkSize),
                                    bufferSize: c.readChunkSize, maxDepth: c.maxDepth, layer: .bundle)
        let header = try AuthEnvelopedHeader.read(outer, limits: c)

        var contentKey = try ContentKeyUnwrap.contentKey(from: header.recipients, certificate: recipient, key: key)
        let gcm: GCMDecryptor
        do {
            defer { OPENSSL_cleanse(&contentKey, contentKey.count) }
            gcm = try GCMDecryptor(key: contentKey, nonce: header.nonce)
        }
        let ciphertext = try OctetStringCursor(reader: outer, header: header.encryptedContent)
        let plaintext = OuterFailurePassing(DecryptingByteSource(ciphertext: ciphertext, gcm: gcm))
        let inner = BERStreamReader(source: plaintext, bufferSize: c.readChunkSize, maxDepth: c.maxDepth, layer: .signedContent)
        inner.wipe = true

        // Errors in the decrypted structure are reported only once the tag verified: until then
        // they are indistinguishable from tampering, and reporting them first would turn the
        // parser into an oracle on unauthenticated plaintext. The sink's errors wait even longer
        // (until the signer verified), for the same reason.
        let hasher = SHA256Hasher()
        var length: Int64 = 0
        var contentError: (any Error)?
        var parts: SignedDataParts?
        var innerError: Error?
        do {
            parts = try SignedDataReader.read(inner, limits: c) { piece in
                hasher.update(piece)
                length += Int64(piece.count)
                guard contentError == nil else { return }
                do { try sink.append(piece) } catch { contentError = error }
            }
        } catch let failure as OuterFailure {
            throw failure.error
        } catch {
            innerError = error
            try plaintext.source.drain()
        }
        let mac = try AuthEnvelopedHeader.readTrailer(outer)
        guard gcm.verify(tag: mac) else {
            throw EnvelopeError(.decryptFailed, "The bundle cannot be decrypted: its authentication tag does not match. It was altered or truncated, or not sealed for this key.")
        }
        if let innerError { throw innerError }
        guard let parts else { throw EnvelopeError(.signatureInvalid, "The decrypted content is not CMS SignedData.") }

        if contentError == nil {
            do { try sink.finish() } catch { contentError = error }
        }
        let sha256 = hasher.finalizeHex()
        let profile = try SignerInfoProfile(parts.signerInfo)
        let signer = try SignerVerification.verify(profile, certificates: parts.certificates, contentSHA256: sha256,
                                                   trust: trust, at: at)
        return VerifiedStream(signer: signer, contentLength: length, contentSHA256: sha256, contentError: contentError)
    }
}

/// The content file of `open(bundlePath:into:at:)`, created on the first byte or at the end (an
/// empty content), so that a bundle refused before its content leaves no file behind.
final class LazyContentFile: StreamingContentSink {
    let directory: String
    let bufferSize: Int
    let direct: Bool
    private(set) var file: ContentFile?

    init(directory: String, bufferSize: Int, direct: Bool) {
        self.directory = directory; self.bufferSize = bufferSize; self.direct = direct
    }

    private func opened() throws -> ContentFile {
        if let file { return file }
        let f = try ContentFile(in: directory, bufferSize: bufferSize, direct: direct)
        file = f
        return f
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws { try opened().append(bytes) }
    func finish() throws { try opened().finish() }
}

/// An error from below the decrypted layer (the bundle file, the GCM stream, the output file),
/// carried through the inner parser unchanged.
struct OuterFailure: Error {
    let error: Error
    init(_ error: Error) { self.error = error }
}

/// Marks every error of the wrapped source as an `OuterFailure`.
final class OuterFailurePassing: ByteSource {
    let source: DecryptingByteSource
    init(_ source: DecryptingByteSource) { self.source = source }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do { return try source.read(into: buffer) } catch { throw OuterFailure(error) }
    }
}
