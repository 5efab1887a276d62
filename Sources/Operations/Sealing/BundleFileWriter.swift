import ClaimGateCore
import Foundation

/// Writes the sealed stream to its file. Where the file system allows it, the file is opened with
/// O_DIRECT so the data goes to disk while sealing runs, without filling the page cache; the
/// final fsync then has little left to do.
final class BundleFileWriter {
    /// O_DIRECT from <fcntl.h>: Glibc's Swift module hides it (it needs _GNU_SOURCE).
    #if arch(x86_64) || arch(i386)
    static let O_DIRECT: Int32 = 0o40000
    #else
    static let O_DIRECT: Int32 = 0o200000   // arm64 and most others
    #endif

    /// Buffers handed to `write` must be aligned to this, and all but the last a multiple of it.
    static let alignment = 4096

    let path: String
    let fd: Int32
    private var direct: Bool
    private(set) var size: Int64 = 0

    /// Creates `path`, which must not exist.
    init(creating path: String) throws {
        self.path = path
        var fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | Self.O_DIRECT, 0o640)
        direct = fd >= 0
        if fd < 0, errno == EINVAL {   // e.g. tmpfs: no O_DIRECT
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        }
        guard fd >= 0 else {
            throw ClaimGateError(.io, "Cannot create \(path): \(String(cString: strerror(errno))).")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if direct, bytes.count % Self.alignment != 0 || Int(bitPattern: bytes.baseAddress) % Self.alignment != 0 {
            // The unaligned tail: finish with ordinary writes.
            guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~Self.O_DIRECT) == 0 else {
                throw ClaimGateError(.io, "Cannot write \(path): \(String(cString: strerror(errno))).")
            }
            direct = false
        }
        var rest = bytes
        while !rest.isEmpty {
            let n = pwrite(fd, rest.baseAddress, rest.count, off_t(size))
            guard n > 0 else {
                throw ClaimGateError(.io, "Writing \(path) failed: \(String(cString: strerror(errno))); check free disk space.")
            }
            size += Int64(n)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
    }

    /// Flushes data and metadata to disk.
    func sync() throws { try FileSystem.sync(fd, path) }
}
