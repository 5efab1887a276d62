import ClaimGateCore
import Foundation

/// An upload to a partner's inbox directory, for both transports: written to a private
/// `.upload-<uuid>` file (created exclusively, 0600), fsynced, then linked under its final name
/// (never replacing a file) and the directory fsynced, so a report is never seen half-written and
/// never lost once acknowledged. Blocking: call from a thread that may wait on the disk. Not for
/// concurrent use: one upload's calls come one at a time (one SFTP session thread, or one HTTPS
/// request awaiting each step).
final class UploadStaging: StagedUpload, @unchecked Sendable {
    private(set) var name: String
    private(set) var bytes: Int64 = 0
    private let directory: String
    private let temporary: String
    private var fd: Int32
    /// Set once the upload went over the limit: every later write fails, and it is discarded.
    private var rejected = false
    private let exchange: GatewayExchange
    private let session: PartnerSession

    init(name: String, directory: String, exchange: GatewayExchange, session: PartnerSession) throws {
        self.name = name
        self.directory = directory
        self.exchange = exchange
        self.session = session
        temporary = directory + "/.upload-" + UUID().uuidString.lowercased()
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw ClaimGateError(.io, "Cannot create an upload file in \(directory): \(String(cString: strerror(errno))).")
        }
    }

    deinit { if fd >= 0 { close(fd); unlink(temporary) } }

    var path: String { directory + "/" + name }

    func write(_ data: UnsafeRawBufferPointer, at offset: Int64) throws {
        let limit = exchange.maxUploadBytes
        let (sum, overflow) = offset.addingReportingOverflow(Int64(data.count))
        let end = overflow ? Int64.max : sum
        guard !rejected, offset >= 0, end <= limit else {
            if !rejected {
                rejected = true
                exchange.uploadFailed(name: name, bytes: end, refusal: .uploadTooLarge, session: session)
            }
            throw Refusal(.uploadTooLarge, "Uploads may be at most \(limit) bytes.")
        }
        var done = 0
        while done < data.count {
            let n = pwrite(fd, data.baseAddress! + done, data.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ClaimGateError(.io, "Writing an upload failed: \(String(cString: strerror(errno))).") }
            done += n
        }
        bytes = max(bytes, end)
    }

    func sync() throws {
        guard fd >= 0, fsync(fd) == 0 else { throw ClaimGateError(.io, "Cannot sync an upload: \(String(cString: strerror(errno))).") }
    }

    func commit() throws -> InboundReport {
        guard !rejected else { throw Refusal(.uploadTooLarge, "Uploads may be at most \(exchange.maxUploadBytes) bytes.") }
        do {
            try sync()
            close(fd)
            fd = -1
            defer { unlink(temporary) }
            guard link(temporary, path) == 0 else {
                throw ClaimGateError(.io, "Cannot store the upload as \(name): \(String(cString: strerror(errno))).")
            }
            let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dfd >= 0 { fsync(dfd); close(dfd) }
        } catch {
            discard(interrupted: false)
            exchange.uploadFailed(name: name, bytes: bytes, failure: .storeFailed, session: session)
            throw error
        }
        do {
            return try exchange.uploadCommitted(self, session: session)
        } catch {
            // Not recorded, so not accepted: the partner is told the upload failed and may send it
            // again under the same name.
            unlink(path)
            throw error
        }
    }

    func rename(to newName: String) throws {
        try exchange.requireNameFree(newName, for: session)
        name = newName
    }

    func discard(interrupted: Bool) {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporary)
        if interrupted && !rejected { exchange.uploadFailed(name: name, bytes: bytes, failure: .interrupted, session: session) }
    }
}
