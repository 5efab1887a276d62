import Foundation

/// Writes each scanned document to a new file `<folder>/<index>` (O_EXCL, O_NOFOLLOW, mode 0600),
/// through an aligned buffer with O_DIRECT where the file system allows it, and fsyncs it when
/// it is complete. The folder is private and the names mean nothing: these files are unverified
/// plaintext until `BundleArchiveExtractor.release` moves them to their documents' names.
///
/// O_DIRECT: the documents go to disk without first being copied into the page cache. On the
/// hosts measured, buffered writes of a 1 GiB document spent 2–3 s in the kernel (page cache
/// copies and writeback), O_DIRECT about 0.7 s, and the closing fsync has nothing left to flush.
final class UnverifiedDocumentFiles: ScannedDocumentStore {
    let folder: String
    /// Whether to try O_DIRECT.
    let direct: Bool
    /// The files created so far, in order.
    private(set) var paths: [String] = []

    private let buffer: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var highWater = 0
    private var fd: Int32 = -1
    private var isDirect = false
    private var path = ""

    /// O_DIRECT from <fcntl.h>: Glibc's Swift module hides it (it needs _GNU_SOURCE).
    #if arch(x86_64) || arch(i386)
    static let O_DIRECT: Int32 = 0o40000
    #else
    static let O_DIRECT: Int32 = 0o200000
    #endif
    static let alignment = 4096

    /// - Parameters:
    ///   - folder: an existing private folder.
    ///   - bufferSize: bytes per write (rounded up to 4 KiB).
    ///   - direct: write with O_DIRECT where possible.
    init(folder: String, bufferSize: Int, direct: Bool) {
        self.folder = folder
        self.direct = direct
        let size = (max(Self.alignment, bufferSize) + Self.alignment - 1) / Self.alignment * Self.alignment
        buffer = .allocate(byteCount: size, alignment: Self.alignment)
    }

    deinit {
        if fd >= 0 { close(fd) }
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<highWater]).initializeMemory(as: UInt8.self, repeating: 0)
        buffer.deallocate()
    }

    func begin(index: Int, size: Int64) throws {
        precondition(fd < 0, "a document is still open")
        path = folder + "/" + String(index)
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW
        let wantDirect = direct && size >= Int64(Self.alignment)
        fd = open(path, flags, 0o600)
        guard fd >= 0 else {
            throw PackagingError(.io, "Cannot create a file in the staging folder \(folder): \(String(cString: strerror(errno))). Check that it exists and is writable.")
        }
        paths.append(path)
        // O_DIRECT is switched on after the file exists: a file system without it (tmpfs before
        // Linux 6.6, some FUSE mounts) refuses the flag, not the file, and we write buffered.
        isDirect = wantDirect && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | Self.O_DIRECT) == 0
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, buffer.count - filled)
            (buffer.baseAddress! + filled).copyMemory(from: rest.baseAddress!, byteCount: n)
            filled += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if filled == buffer.count { try flush() }
        }
    }

    func end() throws {
        try flush()
        guard fsync(fd) == 0 else { throw failure("flushing") }
        let r = close(fd)
        fd = -1
        guard r == 0 else { throw failure("closing") }
    }

    /// Writes what the buffer holds. Only the last piece of a document can be unaligned: O_DIRECT
    /// is switched off for it.
    private func flush() throws {
        guard filled > 0 else { return }
        highWater = max(highWater, filled)
        if isDirect, filled % Self.alignment != 0 {
            guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~Self.O_DIRECT) == 0 else { throw failure("writing") }
            isDirect = false
        }
        var offset = 0
        while offset < filled {
            let w = Glibc.write(fd, buffer.baseAddress! + offset, filled - offset)
            if w < 0 {
                if errno == EINTR { continue }
                if errno == EINVAL, isDirect {
                    // A device whose blocks are larger than 4 KiB: go on without O_DIRECT.
                    guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~Self.O_DIRECT) == 0 else { throw failure("writing") }
                    isDirect = false
                    continue
                }
                throw failure("writing")
            }
            offset += w
        }
        filled = 0
    }

    private func failure(_ what: String) -> PackagingError {
        PackagingError(.io, "\(what.prefix(1).uppercased() + what.dropFirst()) a document in the staging folder \(folder) failed: \(String(cString: strerror(errno))). Check free disk space.")
    }

    /// Closes the open document, if any (after a failure).
    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        filled = 0
    }
}
