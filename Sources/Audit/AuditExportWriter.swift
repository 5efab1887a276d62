import Foundation

/// Writes an audit export (`AuditExport`) to a file, buffered: the header first, then entries and
/// checkpoints in sequence order, each checkpoint right after the entry it seals.
public final class AuditExportWriter {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let name: String
    private var out = JSONLineWriter()
    private var closed = false

    /// Creates a new file (mode 0600; refuses to overwrite one) and writes the header line.
    /// - Parameters:
    ///   - path: the file to create.
    ///   - header: the header; `version` is always written as `AuditExport.version`.
    public init(path: String, header: AuditExportHeader) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "it already exists; choose another name" : String(cString: strerror(errno))
            throw AuditError(.io, "Cannot create \(path): \(reason).")
        }
        self.fd = fd
        ownsDescriptor = true
        name = path
        start(header)
    }

    /// Writes to an open file descriptor, such as standard output, which is not closed.
    /// - Parameters:
    ///   - fileDescriptor: where to write.
    ///   - header: the header.
    public init(fileDescriptor: Int32, header: AuditExportHeader) {
        fd = fileDescriptor
        ownsDescriptor = false
        name = "the output"
        start(header)
    }

    deinit {
        if ownsDescriptor && !closed { Foundation.close(fd) }
    }

    private func start(_ header: AuditExportHeader) {
        out.bytes.reserveCapacity(1 << 18)
        var h = header
        h.version = AuditExport.version
        AuditExport.encode(h, into: &out)
        out.bytes.append(0x0A)
    }

    /// Appends an entry line.
    public func write(_ entry: AuditEntry) throws { try write(.entry(entry)) }

    /// Appends a checkpoint line.
    public func write(_ checkpoint: AuditCheckpoint) throws { try write(.checkpoint(checkpoint)) }

    /// Appends a record line.
    public func write(_ record: AuditRecord) throws {
        precondition(!closed, "AuditExportWriter used after close()")
        AuditExport.encode(record, into: &out)
        out.bytes.append(0x0A)
        if out.bytes.count >= 1 << 18 { try flush() }
    }

    /// Writes what is buffered.
    public func flush() throws {
        var offset = 0
        try out.bytes.withUnsafeBytes { buf in
            while offset < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw AuditError(.io, "Cannot write to \(name): \(String(cString: strerror(errno))).") }
                offset += n
            }
        }
        out.bytes.removeAll(keepingCapacity: true)
    }

    /// Flushes, makes the file durable and closes it (a file descriptor given by the caller is
    /// flushed only).
    public func close() throws {
        guard !closed else { return }
        try flush()
        closed = true
        guard ownsDescriptor else { return }
        let synced = fsync(fd) == 0
        let closedOK = Foundation.close(fd) == 0
        guard synced && closedOK else {
            throw AuditError(.io, "Cannot finish writing \(name): \(String(cString: strerror(errno))).")
        }
    }
}
