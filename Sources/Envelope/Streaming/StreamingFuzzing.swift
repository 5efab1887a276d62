import COpenSSL

/// Entry points for the streaming reader's fuzz target and tests: the two parsers of
/// `StreamingBundleOpener` run on bytes in memory, without keys or crypto.
///
/// `@_spi(Fuzzing) import Envelope` to use them; they are not part of the public API.
@_spi(Fuzzing) public enum StreamingFuzzing {
    /// What a parse produced.
    public struct Outcome: Sendable {
        /// How many content bytes were streamed out.
        public let contentLength: Int64
        /// SHA-256 of those bytes, lowercase hex.
        public let contentSHA256: String
        /// Why the input was refused, or nil when it parsed.
        public let error: EnvelopeError?
    }

    /// Parses `bytes` as a bundle: the AuthEnvelopedData header (with the profile's checks), the
    /// ciphertext segments (streamed and hashed, not decrypted), the mac and the end of input.
    /// - Parameters:
    ///   - bytes: the candidate bundle.
    ///   - readChunkSize: bytes per read; small values exercise buffer boundaries.
    public static func parseBundle(_ bytes: [UInt8], readChunkSize: Int = 4096,
                                   configuration: StreamingBundleOpener.Configuration = .init()) -> Outcome {
        let hasher = SHA256Hasher()
        var length: Int64 = 0
        do {
            let r = BERStreamReader(source: MemoryByteSource(bytes, chunkSize: readChunkSize), bufferSize: readChunkSize,
                                    maxDepth: configuration.maxDepth, layer: .bundle)
            let header = try AuthEnvelopedHeader.read(r, limits: configuration)
            let ciphertext = try OctetStringCursor(reader: r, header: header.encryptedContent)
            while let piece = try ciphertext.next(max: .max) {
                hasher.update(piece)
                length += Int64(piece.count)
            }
            _ = try AuthEnvelopedHeader.readTrailer(r)
            return Outcome(contentLength: length, contentSHA256: hasher.finalizeHex(), error: nil)
        } catch {
            return Outcome(contentLength: length, contentSHA256: hasher.finalizeHex(), error: error as? EnvelopeError)
        }
    }

    /// Parses `bytes` as decrypted content: ContentInfo → SignedData with its content streamed
    /// and hashed, then the SignerInfo against the profile (no signature check).
    public static func parseSignedContent(_ bytes: [UInt8], readChunkSize: Int = 4096,
                                          configuration: StreamingBundleOpener.Configuration = .init()) -> Outcome {
        let hasher = SHA256Hasher()
        var length: Int64 = 0
        do {
            let r = BERStreamReader(source: MemoryByteSource(bytes, chunkSize: readChunkSize), bufferSize: readChunkSize,
                                    maxDepth: configuration.maxDepth, layer: .signedContent)
            let parts = try SignedDataReader.read(r, limits: configuration) { piece in
                hasher.update(piece)
                length += Int64(piece.count)
            }
            _ = try SignerInfoProfile(parts.signerInfo)
            return Outcome(contentLength: length, contentSHA256: hasher.finalizeHex(), error: nil)
        } catch {
            return Outcome(contentLength: length, contentSHA256: hasher.finalizeHex(), error: error as? EnvelopeError)
        }
    }
}
