import COpenSSL
import Foundation

/// The file the verified content goes to: created with O_EXCL and mode 0600 in the caller's
/// folder, fed in order, and unlinked unless `keep()` is called after `finish()`.
///
/// A second thread writes the content while the caller reads, decrypts and hashes the next part:
/// on a 2-core host the two halves take about the same time. They meet in a bounded pipe of
/// `slots` buffers, so memory stays constant.
final class ContentFile {
    let path: String
    private let pipe: ChunkPipe
    private let writer: ContentWriter
    private var finished = false
    private var kept = false

    /// O_DIRECT from <fcntl.h>: Glibc's Swift module hides it (it needs _GNU_SOURCE).
    #if arch(x86_64) || arch(i386)
    static let O_DIRECT: Int32 = 0o40000
    #else
    static let O_DIRECT: Int32 = 0o200000
    #endif

    /// Creates a new file with a random name in `directory` and starts its writer thread.
    /// - Parameters:
    ///   - bufferSize: bytes per write (rounded up to 4 KiB).
    ///   - direct: write with O_DIRECT where the file system allows it (not through the page cache).
    init(in directory: String, bufferSize: Int, direct: Bool, slots: Int = 4) throws {
        var random = [UInt8](repeating: 0, count: 12)
        guard RAND_bytes(&random, 12) == 1 else { throw EnvelopeError(.io, "No randomness for a temporary file name.") }
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + "claimgate-content-" + Hex.encode(random) + ".tar"
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW
        let fd = Glibc.open(path, flags, 0o600)
        guard fd >= 0 else {
            throw EnvelopeError(.io, "Cannot create a temporary file in \(directory) (errno \(errno)): check that the folder exists and is writable.")
        }
        // O_DIRECT is switched on after the file exists: a file system without it refuses the
        // flag, not the file, and we write buffered.
        let isDirect = direct && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | Self.O_DIRECT) == 0
        self.path = path
        pipe = ChunkPipe(slots: max(2, slots), slotSize: (max(4096, bufferSize) + 4095) / 4096 * 4096, alignment: 4096)
        writer = ContentWriter(fd: fd, path: path, pipe: pipe, direct: isDirect)
        let w = writer
        let thread = Thread { w.run() }
        thread.name = "claimgate-open-writer"
        thread.start()
    }

    deinit {
        if !finished {
            pipe.fail(CancellationError())
            writer.waitUntilDone()
        }
        writer.closeFile()
        if !kept { unlink(path) }
    }

    /// Appends content bytes; throws the writer's error (e.g. disk full) if it failed.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try pipe.append(bytes)
    }

    /// Waits for everything to be written and closes the file; returns its length.
    @discardableResult
    func finish() throws -> Int64 {
        finished = true
        pipe.close()
        writer.waitUntilDone()
        if let e = writer.error { throw e }
        try writer.closeFile(checked: true)
        return writer.length
    }

    /// Keeps the file when this value goes away (everything verified).
    func keep() { kept = true }
}

/// The writer thread's side: writes each buffer the pipe hands over.
private final class ContentWriter: @unchecked Sendable {
    private var fd: Int32
    private let path: String
    private let pipe: ChunkPipe
    private let done = DispatchSemaphore(value: 0)
    private var doneSignalled = false
    private(set) var length: Int64 = 0
    private(set) var error: Error?

    private var direct: Bool

    init(fd: Int32, path: String, pipe: ChunkPipe, direct: Bool) {
        self.fd = fd; self.path = path; self.pipe = pipe; self.direct = direct
    }

    func run() {
        do {
            try pipe.drain { chunk in
                if direct, chunk.count % 4096 != 0 {
                    // The unaligned tail: finish with an ordinary write.
                    guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~ContentFile.O_DIRECT) == 0 else {
                        throw EnvelopeError(.io, "Writing \(path) failed (errno \(errno)).")
                    }
                    direct = false
                }
                var offset = 0
                while offset < chunk.count {
                    let w = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                    if w < 0 {
                        if errno == EINTR { continue }
                        throw EnvelopeError(.io, "Writing \(path) failed (errno \(errno)): check free disk space.")
                    }
                    offset += w
                }
                length += Int64(chunk.count)
            }
        } catch {
            self.error = error
            pipe.fail(error)
        }
        done.signal()
    }

    /// Blocks until `run` has returned (once; later calls return at once).
    func waitUntilDone() {
        guard !doneSignalled else { return }
        done.wait()
        doneSignalled = true
    }

    func closeFile(checked: Bool = false) throws {
        guard fd >= 0 else { return }
        let r = close(fd)
        fd = -1
        if checked && r != 0 { throw EnvelopeError(.io, "Writing \(path) failed: check free disk space.") }
    }

    func closeFile() { try? closeFile(checked: false) }
}
