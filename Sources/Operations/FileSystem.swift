import ClaimGateCore
import Foundation

/// Durable file operations: write to a temporary name, fsync, rename, fsync the directory.
public enum FileSystem {
    public static func absolute(_ path: String) -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }

    public static func makeDirectory(_ path: String, mode: Int = 0o755) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: mode])
        } catch {
            throw ClaimGateError(.io, "Cannot create folder \(path): check that its parent exists and is writable.")
        }
    }

    /// A fresh temporary path inside `directory`.
    public static func temporaryPath(in directory: String, suffix: String = ".tmp") -> String {
        directory + "/.tmp-" + UUID().uuidString.lowercased() + suffix
    }

    /// Creates a new file for writing, failing if it exists.
    public static func createExclusive(_ path: String, mode: mode_t = 0o600) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw ClaimGateError(.io, "Cannot create \(path): \(String(cString: strerror(errno))).")
        }
        return fd
    }

    /// Flushes a file descriptor's data to disk.
    public static func sync(_ fd: Int32, _ path: String) throws {
        guard fsync(fd) == 0 else {
            throw ClaimGateError(.io, "Cannot flush \(path) to disk: \(String(cString: strerror(errno))).")
        }
    }

    /// Renames `from` to `to` (same file system) and makes the rename durable.
    /// - Parameter replace: when false, fails if `to` exists (no overwrite).
    public static func commit(_ from: String, to: String, replace: Bool = false) throws {
        if replace {
            guard rename(from, to) == 0 else {
                throw ClaimGateError(.io, "Cannot move \(from) to \(to): \(String(cString: strerror(errno))).")
            }
        } else {
            // link + unlink: atomic and refuses to overwrite.
            guard link(from, to) == 0 else {
                let reason = errno == EEXIST ? "it already exists; choose another name" : String(cString: strerror(errno))
                throw ClaimGateError(.io, "Cannot create \(to): \(reason).")
            }
            unlink(from)
        }
        syncDirectory(of: to)
    }

    public static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Writes `data` durably to `path` (temp file, fsync, rename).
    public static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o644, replace: Bool = false) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = temporaryPath(in: dir.isEmpty ? "." : dir)
        let fd = try createExclusive(tmp, mode: mode)
        do {
            try data.withUnsafeBytes { buf in
                var rest = buf
                while !rest.isEmpty {
                    let n = write(fd, rest.baseAddress, rest.count)
                    guard n > 0 else { throw ClaimGateError(.io, "Writing \(path) failed: check free disk space.") }
                    rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                }
            }
            try sync(fd, path)
            close(fd)
            try commit(tmp, to: path, replace: replace)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
    }

    public static func read(_ path: String, what: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ClaimGateError(.io, "Cannot read \(what) at \(path): check the path.")
        }
        return text
    }

    /// Opens an input file someone named (a document, an agreement file) for reading. It must be
    /// a regular file: a named pipe, a device, a socket or a folder is refused at once (opening
    /// a FIFO would otherwise wait for a writer forever).
    /// - Returns: a descriptor open for reading, blocking.
    /// - Throws: `unreadableInput` saying what is wrong with the file.
    public static func openInput(_ path: String, what: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            let why = errno == ENOENT ? "it does not exist" : errno == EACCES ? "permission denied" : String(cString: strerror(errno))
            throw ClaimGateError(.unreadableInput, "Cannot read \(what) \(path) (\(why)): check the path and its permissions.")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw ClaimGateError(.unreadableInput, "Cannot read \(what) \(path): check the path and its permissions.")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            let kind: String
            switch st.st_mode & S_IFMT {
            case S_IFDIR: kind = "a folder"
            case S_IFIFO: kind = "a named pipe"
            case S_IFSOCK: kind = "a socket"
            case S_IFCHR, S_IFBLK: kind = "a device"
            default: kind = "not a regular file"
            }
            throw ClaimGateError(.unreadableInput, "The \(what) \(path) is \(kind): give a regular file.")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Reads a small input file someone named (an agreement file, a certificate file) as UTF-8,
    /// refusing what is not a regular file and anything over `limit` bytes.
    public static func readInput(_ path: String, what: String, limit: Int = 1 << 20) throws -> String {
        let bytes = try readInputBytes(path, what: what, limit: limit)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ClaimGateError(.invalidArgument, "The \(what) \(path) is not UTF-8 text: is it the right file?")
        }
        return text
    }

    /// As `readInput`, the bytes as they are.
    public static func readInputBytes(_ path: String, what: String, limit: Int = 1 << 20) throws -> [UInt8] {
        let fd = try openInput(path, what: what)
        defer { close(fd) }
        var st = stat()
        _ = fstat(fd, &st)
        guard st.st_size <= limit else {
            throw ClaimGateError(.invalidArgument, "The \(what) \(path) is \(st.st_size) bytes: it can be at most \(limit / 1024) KiB; is it the right file?")
        }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var total = 0
        while total <= limit {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, limit + 1 - total) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw ClaimGateError(.unreadableInput, "Cannot read \(what) \(path): \(String(cString: strerror(errno))).") }
            if n == 0 { break }
            total += n
        }
        guard total <= limit else {
            throw ClaimGateError(.invalidArgument, "The \(what) \(path) is over \(limit / 1024) KiB: is it the right file?")
        }
        return Array(bytes[0..<total])
    }
}
