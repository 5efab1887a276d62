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
}
