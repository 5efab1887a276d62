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
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ClaimGateError(.invalidArgument, "Cannot read document \(path): check the path and its permissions.")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ClaimGateError(.invalidArgument, "Document \(path) is not a regular file: pass files, not folders or devices.")
        }
        self.fd = fd
        size = Int64(st.st_size)
        var prefix = [UInt8](repeating: 0, count: MediaTypeSniffer.prefixLength)
        let n = pread(fd, &prefix, prefix.count, 0)
        mediaType = MediaTypeSniffer.sniff(prefix.prefix(max(0, n)))
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    }

    deinit { close(fd) }
}

/// Seals documents into one bundle in a single pass over their content, on two threads:
///
/// - this thread reads each document once, hashes it for the manifest, and frames the pax tar;
/// - a second thread signs (SHA-256 over the tar) and encrypts (AES-256-GCM) what the first
///   produced, and writes the bundle.
///
/// The manifest, which needs every document's digest, is the archive's last entry: that is what
/// lets sealing read the content only once (see docs/bundle-format.md).
struct SealPipeline {
    let signer: Certificate
    let signerKey: PrivateKey
    let chain: [Certificate]
    let recipient: Certificate

    /// Writes the sealed bundle to `fd`.
    /// - Parameter manifest: builds the manifest from the documents' entries, once all are hashed.
    /// - Returns: the manifest's exact bytes as sealed.
    /// - Parameter created: the time every archive entry carries (source files' own times are not shared).
    func seal(_ documents: [SourceDocument], into fd: Int32, created: Date,
              manifest: ([BundleManifest.Document]) throws -> Data) throws -> Data {
        let writer = try BundleSealWriter(fileDescriptor: fd, signer: signer, signerKey: signerKey,
                                          chain: chain, recipient: recipient)
        let pipe = ChunkPipe()
        let consumer = SealConsumer(writer: writer, pipe: pipe)
        let thread = Thread { consumer.run() }
        thread.name = "claimgate-seal"
        thread.stackSize = 1 << 20
        thread.start()

        var manifestBytes = Data()
        do {
            let archive = try BundleArchiveWriter { try pipe.append($0) }
            var entries: [BundleManifest.Document] = []
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
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
            pipe.close()
        } catch {
            pipe.fail(error)
            consumer.done.wait()
            throw consumer.error ?? error
        }
        consumer.done.wait()
        if let error = consumer.error { throw error }
        return manifestBytes
    }
}

/// The second thread of the pipeline: signs, encrypts and writes what the pipe delivers.
private final class SealConsumer: @unchecked Sendable {
    let writer: BundleSealWriter
    let pipe: ChunkPipe
    let done = DispatchSemaphore(value: 0)
    var error: Error?

    init(writer: BundleSealWriter, pipe: ChunkPipe) { self.writer = writer; self.pipe = pipe }

    func run() {
        defer { done.signal() }
        do {
            try pipe.drain { try writer.write($0) }
            try writer.finish()
        } catch {
            self.error = error
            pipe.fail(error)
        }
    }
}
