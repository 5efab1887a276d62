import COpenSSL
import Foundation

/// The file the verified content goes to: created with O_EXCL and mode 0600 in the caller's
/// folder, fed in order, hashed with SHA-256 on the way, and unlinked unless `keep()` is called.
final class ContentFile {
    let path: String
    private var fd: Int32
    private let hasher = SHA256Hasher()
    private let buffer: UnsafeMutableRawBufferPointer
    private var used = 0
    private var kept = false
    /// Bytes written so far.
    private(set) var length: Int64 = 0

    /// Creates a new file with a random name in `directory`.
    init(in directory: String, bufferSize: Int) throws {
        var random = [UInt8](repeating: 0, count: 12)
        guard RAND_bytes(&random, 12) == 1 else { throw EnvelopeError(.io, "No randomness for a temporary file name.") }
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + "claimgate-content-" + Hex.encode(random) + ".tar"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw EnvelopeError(.io, "Cannot create a temporary file in \(directory) (errno \(errno)): check that the folder exists and is writable.")
        }
        self.fd = fd
        self.path = path
        buffer = .allocate(byteCount: max(4096, bufferSize), alignment: 64)
    }

    deinit {
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        buffer.deallocate()
        if fd >= 0 { close(fd) }
        if !kept { unlink(path) }
    }

    /// Appends content bytes.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, buffer.count - used)
            (buffer.baseAddress! + used).copyMemory(from: rest.baseAddress!, byteCount: n)
            used += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if used == buffer.count { try flush() }
        }
    }

    private func flush() throws {
        guard used > 0 else { return }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<used])
        hasher.update(chunk)
        var offset = 0
        while offset < used {
            let w = write(fd, chunk.baseAddress! + offset, used - offset)
            if w < 0 {
                if errno == EINTR { continue }
                throw EnvelopeError(.io, "Writing \(path) failed (errno \(errno)): check free disk space.")
            }
            offset += w
        }
        length += Int64(used)
        used = 0
    }

    /// Flushes, closes and returns the content's SHA-256, lowercase hex.
    func finish() throws -> String {
        try flush()
        guard close(fd) == 0 else {
            fd = -1
            throw EnvelopeError(.io, "Writing \(path) failed: check free disk space.")
        }
        fd = -1
        return hasher.finalizeHex()
    }

    /// Keeps the file when this value goes away (everything verified).
    func keep() { kept = true }
}
