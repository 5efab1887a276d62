import Foundation

/// Where a `BERStreamReader` pulls its bytes from.
protocol ByteSource: AnyObject {
    /// Fills the start of `buffer` with the next bytes; returns how many (0 only at the end).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A bundle file read front to back with plain `read(2)` (no mmap), at most `chunkSize` bytes per call.
final class FileByteSource: ByteSource {
    private let fd: Int32
    private let chunkSize: Int
    private let path: String

    /// Opens `path` read-only; it must be a regular file.
    init(path: String, chunkSize: Int) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw EnvelopeError(.unreadable, "Cannot read bundle \(path): check the path and its permissions.")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw EnvelopeError(.unreadable, "Bundle \(path) is not a regular file: pass the .p7m file.")
        }
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        self.fd = fd
        self.chunkSize = max(1, chunkSize)
        self.path = path
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = min(buffer.count, chunkSize)
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, want)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw EnvelopeError(.io, "Reading bundle \(path) failed (errno \(errno)): check the disk.")
        }
    }
}

/// Bytes already in memory (the fuzz entry point and tests).
final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0
    private let chunkSize: Int

    init(_ bytes: [UInt8], chunkSize: Int = .max) {
        self.bytes = bytes
        self.chunkSize = max(1, chunkSize)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, chunkSize, bytes.count - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}
