import ClaimGateCore
import Envelope
import Foundation

/// Documents an operator uploads through the operator API before `send` or `seal` names them:
/// each is streamed to its own file in `HOME/scratch/uploads` (0600, written in pieces, synced
/// before it is acknowledged), never held in memory. An upload belongs to the operator that sent
/// it (its name is part of the file name), is consumed by the bundle that uses it, and is deleted
/// when unused for `maxAge`.
public final class OperatorUploads: Sendable {
    public let directory: String
    /// How long an unused upload is kept (default one hour).
    public let maxAge: TimeInterval

    public init(home: Home, maxAge: TimeInterval = 3600) {
        directory = home.scratch + "/uploads"
        self.maxAge = maxAge
    }

    /// A new upload's file, open for writing: write the body through it, then `finish` it (or
    /// `discard` it).
    public func create(for principal: Principal) throws -> UploadWriter {
        try FileSystem.makeDirectory(home, mode: 0o700)
        try FileSystem.makeDirectory(directory, mode: 0o700)
        let id = UUID().uuidString.lowercased()
        let path = try path(id, owner: principal)
        return UploadWriter(id: id, path: path, fd: try FileSystem.createExclusive(path, mode: 0o600))
    }

    /// Deletes an upload (a failed body, or one consumed by a bundle).
    public func discard(_ id: String, for principal: Principal) {
        guard let p = try? path(id, owner: principal) else { return }
        unlink(p)
    }

    /// The file of an upload `principal` made.
    /// - Throws: `unreadable-input` when there is no such upload (never made, another
    ///   operator's, consumed, or deleted as stale).
    public func file(_ id: String, for principal: Principal) throws -> String {
        let p = try path(id, owner: principal)
        guard FileManager.default.fileExists(atPath: p) else {
            throw ClaimGateError(.unreadableInput, "There is no upload \(id.prefix(64)) of yours: upload the document again (POST /v1/uploads); unused uploads are deleted after \(Int(maxAge / 60)) minutes.")
        }
        return p
    }

    /// Uploads named as the documents of a bundle: a folder in the scratch area holding a hard
    /// link to each upload under its document name (the seal pipeline names a document by its
    /// file), so nothing is copied. Remove the folder with `unstage` once sealed.
    /// - Parameter documents: each upload id and the name the document gets in the bundle.
    /// - Returns: the folder and the documents' paths, in order.
    public func stage(_ documents: [(upload: String, name: String)], for principal: Principal) throws -> (folder: String, paths: [String]) {
        try FileSystem.makeDirectory(home, mode: 0o700)
        let folder = home + "/send-" + UUID().uuidString.lowercased()
        try FileSystem.makeDirectory(folder, mode: 0o700)
        var paths: [String] = []
        do {
            for d in documents {
                guard !d.name.isEmpty, d.name.utf8.count <= 255, !d.name.contains("/"), d.name != ".", d.name != "..",
                      !d.name.hasPrefix(".") else {
                    throw ClaimGateError(.invalidArgument, "Document name '\(d.name.prefix(64))' is not valid: a plain file name without '/' that does not start with '.'.")
                }
                let target = folder + "/" + d.name
                guard link(try file(d.upload, for: principal), target) == 0 else {
                    if errno == EEXIST {
                        throw ClaimGateError(.invalidArgument, "Two documents are named '\(d.name.prefix(64))': rename one, names must be unique in a bundle.")
                    }
                    throw ClaimGateError(.io, "Cannot stage upload \(d.upload.prefix(64)): \(String(cString: strerror(errno))).")
                }
                paths.append(target)
            }
        } catch {
            unstage(folder)
            throw error
        }
        return (folder, paths)
    }

    /// Removes a folder `stage` made (the uploads themselves stay until discarded or stale).
    public func unstage(_ folder: String) {
        guard folder.hasPrefix(home + "/send-") else { return }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A fresh path in the scratch area for a work file (a sealed bundle to send back, an export).
    public func workFile(suffix: String) throws -> String {
        try FileSystem.makeDirectory(home, mode: 0o700)
        return home + "/work-" + UUID().uuidString.lowercased() + suffix
    }

    /// Deletes uploads (and other scratch work files) older than `maxAge`.
    /// - Returns: how many were deleted.
    @discardableResult
    public func sweep(now: Date = Date()) -> Int {
        var removed = 0
        for dir in [directory, home] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names {
                let p = dir + "/" + name
                guard let a = try? FileManager.default.attributesOfItem(atPath: p),
                      let modified = a[.modificationDate] as? Date, now.timeIntervalSince(modified) > maxAge else { continue }
                switch a[.type] as? FileAttributeType {
                case .typeRegular?: if unlink(p) == 0 { removed += 1 }
                case .typeDirectory? where name.hasPrefix("send-"): unstage(p); removed += 1
                default: break
                }
            }
        }
        return removed
    }

    /// The scratch folder itself (seal outputs and exports being sent live there too).
    private var home: String { (directory as NSString).deletingLastPathComponent }

    private func path(_ id: String, owner principal: Principal) throws -> String {
        guard let uuid = UUID(uuidString: id), let name = principal.operatorID else {
            throw ClaimGateError(.unreadableInput, "'\(id.prefix(64))' is not an upload id: use the id POST /v1/uploads returned.")
        }
        return directory + "/" + name.rawValue + "." + uuid.uuidString.lowercased()
    }
}

/// One upload being written: its pieces in order, their SHA-256 as they pass. Used from one
/// task at a time.
public final class UploadWriter: @unchecked Sendable {
    public let id: String
    let path: String
    private var fd: Int32
    private let hasher = SHA256Hasher()
    public private(set) var bytes: Int64 = 0

    init(id: String, path: String, fd: Int32) { self.id = id; self.path = path; self.fd = fd }

    /// Appends a piece of the document.
    public func write(_ piece: UnsafeRawBufferPointer) throws {
        hasher.update(piece)
        var offset = 0
        while offset < piece.count {
            let n = Foundation.write(fd, piece.baseAddress! + offset, piece.count - offset)
            guard n > 0 else { throw ClaimGateError(.io, "Cannot write the upload: \(String(cString: strerror(errno))).") }
            offset += n
        }
        bytes += Int64(piece.count)
    }

    /// Syncs and closes the file.
    /// - Returns: the document's SHA-256 (lowercase hex).
    public func finish() throws -> String {
        defer { close(fd); fd = -1 }
        try FileSystem.sync(fd, path)
        return hasher.finalizeHex()
    }

    /// Closes and deletes the file (a body that failed or was too large).
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(path)
    }
}
