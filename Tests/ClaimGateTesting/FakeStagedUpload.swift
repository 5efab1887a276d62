import ClaimGateCore
import Foundation

/// An upload to a `FakeExchange` inbox, written to a real file: a private `.upload-<uuid>` file,
/// linked under its name on `commit` (never replacing one), removed on `discard`. Each step is
/// recorded in the exchange's calls. `<bundle-id>.receipt` is taken as a receipt, as by the
/// gateway: acknowledged through `acknowledge` and not kept.
final class FakeStagedUpload: StagedUpload, @unchecked Sendable {
    private(set) var name: String
    private let folder: String
    private let lock = NSLock()
    private var written: Int64 = 0
    private var fd: Int32
    private var rejected = false
    private var finished = false
    private let staged: String
    private var path: String { folder + "/" + name }
    private let session: PartnerSession
    private let exchange: FakeExchange

    init(name: String, folder: String, session: PartnerSession, exchange: FakeExchange) throws {
        self.name = name
        self.folder = folder
        self.session = session
        self.exchange = exchange
        staged = folder + "/.upload-" + UUID().uuidString.lowercased()
        fd = open(staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            exchange.unstaged(name, of: session.partner, committed: nil)
            throw ClaimGateError(.io, "Cannot create \(staged): \(String(cString: strerror(errno))).")
        }
    }

    deinit { if fd >= 0 { close(fd); unlink(staged) } }

    var bytes: Int64 { lock.withLock { written } }

    func write(_ data: UnsafeRawBufferPointer, at offset: Int64) throws {
        try lock.withLock {
            let end = offset + Int64(data.count)
            guard !rejected, offset >= 0, end <= exchange.maxUploadBytes else {
                if !rejected {
                    rejected = true
                    try? exchange.staged(.uploadTooLarge(name, bytes: end))
                }
                throw Refusal(.uploadTooLarge, "Uploads may be at most \(exchange.maxUploadBytes) bytes.", partner: session.partner)
            }
            guard fd >= 0, pwrite(fd, data.baseAddress, data.count, off_t(offset)) == data.count else {
                throw ClaimGateError(.io, "Writing \(staged) failed.")
            }
            written = max(written, end)
        }
        try exchange.staged(.uploadWrite(name, offset: offset, count: data.count))
    }

    func sync() throws {
        try lock.withLock {
            guard fd >= 0, fsync(fd) == 0 else { throw ClaimGateError(.io, "Cannot sync \(staged).") }
        }
        try exchange.staged(.uploadSync(name))
    }

    func commit() throws -> InboundReport {
        let bytes: Int64 = try lock.withLock {
            guard !rejected else {
                finishLocked()
                throw Refusal(.uploadTooLarge, "Uploads may be at most \(exchange.maxUploadBytes) bytes.", partner: session.partner)
            }
            guard !finished, fd >= 0, fsync(fd) == 0, link(staged, path) == 0 else {
                finishLocked()
                throw ClaimGateError(.io, "Cannot store the upload as \(name).")
            }
            close(fd)
            fd = -1
            unlink(staged)
            return written
        }
        do {
            try exchange.staged(.uploadCommitted(name, bytes: bytes))
        } catch {
            unlink(path)
            lock.withLock { finishLocked() }
            throw error
        }
        var report = InboundReport(id: UUID(), partnerID: session.partner, fileName: name, received: Date(), bytes: bytes,
                                   state: .accepted, transport: session.origin.transport, storedPath: path)
        if name.hasSuffix(".receipt"), let id = BundleID(name.dropLast(8)) {
            // A receipt is not kept: its name may be used again.
            defer { unlink(path); lock.withLock { finishLocked() } }
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let digest = text.split(whereSeparator: { $0 == " " || $0.isNewline }).first.map(String.init) ?? ""
            report.bundleID = id
            if case .refused(let r) = try exchange.acknowledge(id, sha256: digest, for: session) {
                report.state = .quarantined
                report.reason = r.message
            }
            return report
        }
        exchange.unstaged(name, of: session.partner, committed: UploadEntry(name: name, size: bytes, received: report.received))
        lock.withLock { finished = true }
        return report
    }

    func rename(to newName: String) throws {
        try exchange.renameStaged(name, to: newName, of: session)
        lock.withLock { name = newName }
    }

    func discard(interrupted: Bool) {
        lock.withLock { finishLocked() }
        try? exchange.staged(.uploadDiscarded(name, interrupted: interrupted))
    }

    /// Closes and removes the staged file and frees the name (caller holds the lock).
    private func finishLocked() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(staged)
        if !finished {
            finished = true
            exchange.unstaged(name, of: session.partner, committed: nil)
        }
    }
}
