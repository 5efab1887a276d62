/// Entry point for the fuzz target and tests: the streaming archive reader (`TarStreamReader`
/// under `BundleArchiveScanner`) on bytes in memory, with documents hashed but not written.
///
/// `@_spi(Fuzzing) import Packaging` to use it; it is not part of the public API.
@_spi(Fuzzing) public enum ArchiveFuzzing {
    /// What a scan found.
    public struct Outcome: Sendable {
        /// Documents in archive order: name, size, SHA-256 (lowercase hex).
        public let documents: [(name: String, size: Int64, sha256: String)]
        /// The manifest's bytes, when the archive had one.
        public let manifest: [UInt8]?
        /// Why the archive was refused, or nil when it was read to its end.
        public let error: PackagingError?
    }

    /// Reads `bytes` as a bundle archive, handing it over in pieces of `chunkSize` bytes.
    /// - Parameters:
    ///   - bytes: the candidate archive.
    ///   - chunkSize: bytes per piece; small values exercise the boundaries.
    ///   - maxPaxHeaderSize: cap on one pax extended header.
    public static func scan(_ bytes: [UInt8], chunkSize: Int = 4096, maxPaxHeaderSize: Int = 64 << 10) -> Outcome {
        let scanner = BundleArchiveScanner(store: DiscardingStore(), maxPaxHeaderSize: maxPaxHeaderSize)
        var failure: PackagingError?
        do {
            try bytes.withUnsafeBytes { all in
                var offset = 0
                let step = max(1, chunkSize)
                while offset < all.count {
                    let n = min(step, all.count - offset)
                    try scanner.consume(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)]))
                    offset += n
                }
            }
            try scanner.finish()
        } catch let e as PackagingError {
            failure = e
        } catch {
            failure = PackagingError(.io, "\(error)")
        }
        return Outcome(documents: scanner.documents.map { ($0.name, $0.size, $0.sha256) }, manifest: scanner.manifest, error: failure)
    }
}

/// A document store that keeps nothing (the fuzz target's).
private final class DiscardingStore: ScannedDocumentStore {
    private var open = false
    func begin(index: Int, size: Int64) throws {
        precondition(!open, "a document began before the previous one ended")
        open = true
    }
    func write(_ bytes: UnsafeRawBufferPointer) throws { precondition(open, "document data outside a document") }
    func end() throws {
        precondition(open, "a document ended that had not begun")
        open = false
    }
}
