import ClaimGateCore
import Envelope
import Foundation
import Packaging

/// A document opened for sealing: one descriptor, read once.
final class SourceDocument {
    let path: String
    let name: String
    let fd: Int32
    let size: Int64
    let mediaType: String

    /// Opens `path`, checks it is a regular file, and sniffs its media type from its first bytes.
    init(path: String) throws {
        self.path = path
        name = try DocumentName.validate((path as NSString).lastPathComponent)
        let fd = try FileSystem.openInput(path, what: "document")
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); throw ClaimGateError(.unreadableInput, "Cannot read document \(path): check the path and its permissions.") }
        self.fd = fd
        size = Int64(st.st_size)
        var prefix = [UInt8](repeating: 0, count: MediaTypeSniffer.prefixLength)
        let n = pread(fd, &prefix, prefix.count, 0)
        mediaType = MediaTypeSniffer.sniff(prefix.prefix(max(0, n)))
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    }

    deinit { close(fd) }
}

/// Seals documents into one bundle in a single pass over their content, on three threads:
///
/// - this thread reads each document once, hashes it for the manifest, and frames the pax tar;
/// - a crypto thread signs (SHA-256 over the tar) and encrypts (AES-256-GCM) that stream;
/// - a writer thread puts the sealed stream on disk.
///
/// Bounded pipes between them keep memory constant. The manifest, which needs every document's
/// digest, is the archive's last entry: that is what lets sealing read the content only once
/// (see docs/bundle-format.md).
struct SealPipeline {
    let signer: Certificate
    let signerKey: PrivateKey
    let chain: [Certificate]
    let recipient: Certificate

    /// Plain tar stream: small pieces, the crypto stage works on each as it comes.
    static let plainSlots = (count: 4, size: 256 << 10)
    /// Sealed stream: 512 KiB pieces, aligned for O_DIRECT (large enough that the disk keeps up).
    static let sealedSlots = (count: 4, size: 512 << 10)

    /// Seals into a new file at `path`, durably: a temporary file beside it, fsync, then a rename
    /// that never overwrites. Nothing is left behind on failure.
    /// - Returns: the manifest's bytes and the sealed file's size.
    func sealFile(_ documents: [SourceDocument], to path: String, created: Date,
                  manifest: ([BundleManifest.Document]) throws -> Data) throws -> (manifest: Data, size: Int64) {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = FileSystem.temporaryPath(in: dir, suffix: ".p7m")
        let output = try BundleFileWriter(creating: tmp)
        do {
            let bytes = try seal(documents, into: output, created: created, manifest: manifest)
            try output.sync()
            try FileSystem.commit(tmp, to: path)
            return (bytes, output.size)
        } catch let e as EnvelopeError {
            unlink(tmp)
            throw ClaimGateError(.io, "Sealing failed: \(e.message)", diagnostics: e.diagnostics)
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// Writes the sealed bundle to `output`.
    /// - Parameters:
    ///   - created: the time every archive entry carries (source files' own times are not shared).
    ///   - manifest: builds the manifest from the documents' entries, once all are hashed.
    /// - Returns: the manifest's exact bytes as sealed.
    func seal(_ documents: [SourceDocument], into output: BundleFileWriter, created: Date,
              manifest: ([BundleManifest.Document]) throws -> Data) throws -> Data {
        let plain = ChunkPipe(slots: Self.plainSlots.count, slotSize: Self.plainSlots.size)
        let sealed = ChunkPipe(slots: Self.sealedSlots.count, slotSize: Self.sealedSlots.size,
                               alignment: BundleFileWriter.alignment)
        let failAll: @Sendable (Error) -> Void = { plain.fail($0); sealed.fail($0) }
        let writer = try BundleSealWriter(signer: signer, signerKey: signerKey, chain: chain, recipient: recipient) {
            try sealed.append($0)
        }
        let crypto = Stage(name: "claimgate-seal", onError: failAll) {
            try plain.drain { try writer.write($0) }
            try writer.finish()
            sealed.close()
        }
        let disk = Stage(name: "claimgate-write", onError: failAll) {
            try sealed.drain { try output.write($0) }
        }

        var manifestBytes = Data()
        var producerError: Error?
        do {
            let archive = try BundleArchiveWriter { try plain.append($0) }
            var entries: [BundleManifest.Document] = []
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.plainSlots.size, alignment: 64)
            defer { buffer.deallocate() }
            for doc in documents {
                let hasher = SHA256Hasher()
                try archive.addFile(path: BundleArchiveReader.documentsPrefix + doc.name, size: doc.size,
                                    modified: created) { write in
                    var offset: Int64 = 0
                    while offset < doc.size {
                        let want = Int(min(Int64(buffer.count), doc.size - offset))
                        let n = pread(doc.fd, buffer.baseAddress, want, off_t(offset))
                        guard n > 0 else {
                            throw ClaimGateError(.io, "Document \(doc.path) became shorter while it was being sealed: seal it again when it is complete.")
                        }
                        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                        hasher.update(chunk)
                        try write(chunk)
                        offset += Int64(n)
                    }
                }
                entries.append(.init(name: doc.name, mediaType: doc.mediaType, size: doc.size, sha256: hasher.finalizeHex()))
            }
            manifestBytes = try manifest(entries)
            try archive.addFile(path: BundleArchiveReader.manifestName, data: manifestBytes, modified: created)
            try archive.finish()
            plain.close()
        } catch {
            producerError = error
            failAll(error)
        }
        // The first failure anywhere wins; the others are its consequences.
        let firstError = crypto.wait() ?? disk.wait() ?? producerError
        _ = disk.wait()
        if let firstError { throw firstError }
        return manifestBytes
    }
}

/// One stage of the pipeline on its own thread (never on the Swift concurrency pool: it blocks).
private final class Stage: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var error: Error?
    private var finished = false
    private let body: () throws -> Void

    init(name: String, onError: @escaping @Sendable (Error) -> Void, body: @escaping () throws -> Void) {
        self.body = body
        let thread = Thread { [self] in
            do { try self.body() } catch {
                self.error = error
                onError(error)
            }
            done.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits for the stage to end and returns its error, if any. Safe to call more than once.
    func wait() -> Error? {
        if !finished { done.wait(); finished = true }
        return error
    }
}
