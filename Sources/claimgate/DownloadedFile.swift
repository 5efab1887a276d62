import ClaimGateCore
import Foundation
import Operations
import Synchronization

/// A file a command in remote mode writes from the operator API's stream (a sealed bundle, an
/// audit export, an inbound document): a temporary file beside it, synced, then put under its
/// name (never over an existing file unless `replace`), so nothing half-written is left.
final class DownloadedFile: Sendable {
    let path: String
    private let temporary: String
    private let fd: Int32
    private let replace: Bool
    private let open = Mutex(true)

    init(_ path: String, mode: mode_t = 0o644, replace: Bool) throws {
        self.path = path
        self.replace = replace
        if !replace, FileManager.default.fileExists(atPath: path) {
            throw ClaimGateError(.invalidArgument, "\(path) already exists: choose another name, or move it away.")
        }
        let dir = (path as NSString).deletingLastPathComponent
        temporary = FileSystem.temporaryPath(in: dir.isEmpty ? "." : dir)
        fd = try FileSystem.createExclusive(temporary, mode: mode)
    }

    /// Appends a piece.
    func write(_ data: Data) throws {
        try data.withUnsafeBytes { buf in
            var rest = buf
            while !rest.isEmpty {
                let n = Foundation.write(fd, rest.baseAddress, rest.count)
                guard n > 0 else { throw ClaimGateError(.io, "Writing \(path) failed: check free disk space.") }
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            }
        }
    }

    /// Syncs the file and puts it under its name.
    func commit() throws {
        do {
            try FileSystem.sync(fd, path)
            closeOnce()
            try FileSystem.commit(temporary, to: path, replace: replace)
        } catch {
            discard()
            throw error
        }
    }

    /// Removes what was written (the download failed).
    func discard() {
        closeOnce()
        unlink(temporary)
    }

    private func closeOnce() {
        if open.withLock({ o in defer { o = false }; return o }) { close(fd) }
    }
}
