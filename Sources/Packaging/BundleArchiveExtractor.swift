import ClaimGateCore
import Envelope
import Foundation

/// Extracts a bundle's documents straight from the decrypted stream of `StreamingBundleOpener`,
/// with no copy of the whole archive on disk: a `StreamingContentSink` that reads the tar archive
/// as it streams (`TarStreamReader`, strict), holds it to the archive rules, and writes each
/// document to an unverified file in a private folder while hashing it.
///
/// Nothing it writes is released until `release`: the opener must have verified the GCM tag, the
/// signer's chain and the signature, and the caller must have accepted the manifest; `release`
/// then checks every document against the manifest and moves the files to their names. On any
/// failure (`discard`, or when the value goes away unreleased) every extracted byte is removed.
///
/// ```swift
/// let extractor = try BundleArchiveExtractor(staging: staging)
/// let verified = try opener.open(bundlePath: path, at: now, into: extractor)
/// if let e = verified.contentError { throw e }           // the archive broke the rules
/// let manifest = try BundleManifest.decode(extractor.manifest())
/// try extractor.release(into: staging + "/documents", expecting: manifest.documents)
/// ```
///
/// The tar reading, document hashing and writing run on a thread of their own, fed through a
/// bounded pipe: the opener's thread decrypts and hashes the next part meanwhile. Memory stays
/// constant (the pipe's slots, one write buffer, the manifest).
public final class BundleArchiveExtractor: StreamingContentSink {
    /// Buffer sizes and caps. Every field has a default.
    public struct Configuration: Sendable {
        /// Buffers between the opener's thread and the extraction thread. Default 4.
        public var pipeSlots: Int = 4
        /// Size of each of those buffers. Default 1 MiB.
        public var pipeSlotSize: Int = 1 << 20
        /// Bytes per document write (rounded up to 4 KiB). Default 1 MiB.
        public var writeBufferSize: Int = 1 << 20
        /// Write documents with O_DIRECT where the file system allows it. Default true.
        public var directWrites: Bool = true
        /// Cap on one pax extended header. Default 64 KiB.
        public var maxPaxHeaderSize: Int = 64 << 10

        public init() {}
    }

    /// The private folder the unverified files are in (inside `staging`).
    public let folder: String

    private let worker: ExtractionWorker
    private var files: UnverifiedDocumentFiles { worker.files }
    private var finished = false
    private var released = false

    /// Creates the private folder in `staging` and starts the extraction thread.
    /// - Parameters:
    ///   - staging: an existing folder of mode 0700 that the caller owns.
    ///   - configuration: buffer sizes and caps.
    public init(staging: String, configuration: Configuration = Configuration()) throws {
        var random = [UInt8](repeating: 0, count: 12)
        for i in random.indices { random[i] = UInt8.random(in: 0...255) }
        folder = (staging.hasSuffix("/") ? String(staging.dropLast()) : staging) + "/.unverified-" + Hex.encode(random)
        guard mkdir(folder, 0o700) == 0 else {
            throw PackagingError(.io, "Cannot create a private folder in \(staging): \(String(cString: strerror(errno))). Check that it exists and is writable.")
        }
        worker = ExtractionWorker(folder: folder, configuration: configuration)
        let w = worker
        let thread = Thread { w.run() }
        thread.name = "claimgate-open-extract"
        thread.start()
    }

    deinit { discard() }

    // MARK: StreamingContentSink

    /// Hands decrypted bytes to the extraction thread; throws its error once it has failed.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try worker.pipe.append(bytes)
    }

    /// Waits for the extraction thread to read the rest; throws what it found wrong.
    public func finish() throws {
        finished = true
        worker.pipe.close()
        worker.join()
        if let error = worker.error { throw error }
    }

    // MARK: After the opener returned

    /// The archive's `manifest.json`, exactly as signed. Call after the opener returned without
    /// `contentError`.
    public func manifest() throws -> Data {
        guard finished, worker.error == nil, let m = worker.scanner.manifest else {
            throw PackagingError(.layout, "The bundle archive has no manifest.json: it was not made by ClaimGate.")
        }
        return Data(m)
    }

    /// Checks every extracted document against the manifest's list (names, sizes, SHA-256) and
    /// moves them into `directory` under their names, without overwriting anything; removes the
    /// private folder. Call only after the opener returned (tag and signature verified) and the
    /// manifest was accepted.
    /// - Parameters:
    ///   - directory: an existing private folder (e.g. `staging/documents`).
    ///   - documents: the manifest's document list.
    /// - Throws: `PackagingError` `.document` when a document is not listed, differs from its
    ///   entry or is missing; `.io`. Nothing is moved then.
    public func release(into directory: String, expecting documents: [BundleManifest.Document]) throws {
        guard finished, worker.error == nil, !released else {
            throw PackagingError(.io, "The bundle's documents cannot be released: its content was not read to the end.")
        }
        // Names are matched byte for byte: Swift's String equality would match canonically
        // equivalent spellings (NFC and NFD), and the file is then linked under the archive's bytes.
        var expected: [[UInt8]: BundleManifest.Document] = [:]
        for doc in documents {
            guard expected.updateValue(doc, forKey: Array(doc.name.utf8)) == nil else {
                throw PackagingError(.document, "The bundle's manifest lists '\(doc.name.prefix(80))' twice: it was not made by ClaimGate.")
            }
        }
        let found = worker.scanner.documents
        for doc in found {
            guard let entry = expected.removeValue(forKey: Array(doc.name.utf8)) else {
                throw PackagingError(.document, "The bundle holds '\(doc.name.prefix(80))', which its manifest does not list: it was altered.")
            }
            guard doc.size == entry.size, doc.sha256 == entry.sha256 else {
                throw PackagingError(.document, "Document '\(doc.name)' does not match its manifest entry (size or SHA-256): the bundle was altered.")
            }
        }
        if let missing = expected.values.map(\.name).sorted().first {
            throw PackagingError(.document, "Document '\(missing)' is listed in the manifest but missing from the bundle: it was altered.")
        }
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var linked: [String] = []
        for (path, doc) in zip(files.paths, found) {
            // link (refuses to overwrite); the private copies go only once all are linked.
            guard link(path, base + "/" + doc.name) == 0 else {
                let error = PackagingError(.io, "Cannot create \(base)/\(doc.name): \(String(cString: strerror(errno))).")
                for name in linked { unlink(name) }
                throw error
            }
            linked.append(base + "/" + doc.name)
        }
        for path in files.paths { unlink(path) }
        released = true
        rmdir(folder)
    }

    /// Stops the extraction thread if it still runs and removes every unreleased file and the
    /// private folder. Called by `deinit`; safe to call more than once.
    public func discard() {
        worker.pipe.fail(CancellationError())
        worker.join()
        files.abandon()
        for path in files.paths { unlink(path) }
        rmdir(folder)
    }
}

/// The extraction thread's side: drains the pipe into the scanner, which writes the documents.
private final class ExtractionWorker: @unchecked Sendable {
    let pipe: ChunkPipe
    let files: UnverifiedDocumentFiles
    let scanner: BundleArchiveScanner
    private let done = DispatchSemaphore(value: 0)
    private var joined = false
    /// What stopped the thread; read only after `join`.
    private(set) var error: (any Error)?

    init(folder: String, configuration c: BundleArchiveExtractor.Configuration) {
        files = UnverifiedDocumentFiles(folder: folder, bufferSize: c.writeBufferSize, direct: c.directWrites)
        scanner = BundleArchiveScanner(store: files, maxPaxHeaderSize: c.maxPaxHeaderSize)
        pipe = ChunkPipe(slots: max(2, c.pipeSlots), slotSize: max(4096, c.pipeSlotSize))
    }

    func run() {
        do {
            try pipe.drain { try scanner.consume($0) }
            try scanner.finish()
        } catch {
            self.error = error
            files.abandon()
            pipe.fail(error)
        }
        done.signal()
    }

    /// Blocks until `run` has returned (once; later calls return at once). Called from the
    /// owner's thread only.
    func join() {
        guard !joined else { return }
        done.wait()
        joined = true
    }
}
