import Envelope
import Foundation

/// Reads an audit export line by line, in 1 MiB reads: memory stays constant however long the
/// export is. The header is read on opening.
///
///     let reader = try AuditExportReader(path: "audit.jsonl")
///     while let record = try reader.next() { … }
public final class AuditExportReader {
    /// The longest line accepted.
    public static let maximumLineLength = 1 << 20

    /// The export's first line.
    public private(set) var header = AuditExportHeader()
    /// The number of the last line read (1 is the header).
    public private(set) var lineNumber = 0

    private let fd: Int32
    private let ownsDescriptor: Bool
    private let name: String
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEOF = false

    /// Opens an export file and reads its header.
    /// - Parameter path: the `.jsonl` file.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AuditError(.io, "Cannot read \(path): \(String(cString: strerror(errno))); check the path and its permissions.")
        }
        try self.init(fd: fd, owns: true, name: path)
    }

    /// Reads an export from an open file descriptor, such as standard input, which is not closed.
    public convenience init(fileDescriptor: Int32) throws {
        try self.init(fd: fileDescriptor, owns: false, name: "the input")
    }

    private init(fd: Int32, owns: Bool, name: String) throws {
        self.fd = fd
        ownsDescriptor = owns
        self.name = name
        buffer = [UInt8](repeating: 0, count: 2 * Self.maximumLineLength)
        guard let first = try nextLine({ try AuditExport.parseHeader(buffer: $0, number: $1) }) else {
            throw AuditError(.malformedExport, "\(name) is empty: it is not a ClaimGate audit export.")
        }
        header = first
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// The next entry or checkpoint; nil at the end of the file. Blank lines are skipped.
    public func next() throws -> AuditRecord? {
        try nextLine { try AuditExport.parseRecord(buffer: $0, number: $1) }
    }

    /// Finds the next non-blank line and hands its bytes (without `\n` or `\r\n`) to `parse`.
    private func nextLine<T>(_ parse: (UnsafeBufferPointer<UInt8>, Int) throws -> T) throws -> T? {
        while true {
            // Look for a line end in what is buffered.
            let found: Int? = buffer.withUnsafeBufferPointer { buf in
                guard end > start, let p = memchr(buf.baseAddress! + start, 0x0A, end - start) else { return nil }
                return buf.baseAddress!.distance(to: p.assumingMemoryBound(to: UInt8.self))
            }
            var lineEnd: Int
            var next: Int
            if let found {
                lineEnd = found
                next = found + 1
            } else if atEOF {
                guard end > start else { return nil }
                lineEnd = end
                next = end
            } else {
                guard end - start <= Self.maximumLineLength else {
                    throw AuditError(.malformedExport,
                        "Line \(lineNumber + 1) of \(name) is longer than \(Self.maximumLineLength) bytes: it is not a ClaimGate audit export line.")
                }
                try fill()
                continue
            }
            lineNumber += 1
            let lineStart = start
            start = next
            if lineEnd > lineStart && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd == lineStart { continue }
            guard lineEnd - lineStart <= Self.maximumLineLength else {
                throw AuditError(.malformedExport,
                    "Line \(lineNumber) of \(name) is longer than \(Self.maximumLineLength) bytes: it is not a ClaimGate audit export line.")
            }
            let number = lineNumber
            return try buffer.withUnsafeBufferPointer { buf in
                try parse(UnsafeBufferPointer(rebasing: buf[lineStart..<lineEnd]), number)
            }
        }
    }

    /// Moves the unread bytes to the front and reads more.
    private func fill() throws {
        if start > 0 {
            let remaining = end - start
            buffer.withUnsafeMutableBufferPointer { buf in
                if remaining > 0 { memmove(buf.baseAddress!, buf.baseAddress! + start, remaining) }
            }
            start = 0
            end = remaining
        }
        let capacity = buffer.count - end
        let n = buffer.withUnsafeMutableBufferPointer { buf in read(fd, buf.baseAddress! + end, capacity) }
        if n < 0 {
            if errno == EINTR { return }
            throw AuditError(.io, "Reading \(name) failed: \(String(cString: strerror(errno))).")
        }
        if n == 0 { atEOF = true }
        end += n
    }
}

extension AuditVerifier {
    /// Verifies an export file in one streaming pass.
    /// - Parameters:
    ///   - path: the export (`.jsonl`).
    ///   - keys: trusted audit public keys; the key in the export's header is never trusted.
    ///   - checkpoints: checkpoints kept outside the export (such as the latest one, sent off the
    ///     gateway when it was made); they find entries removed together with their checkpoints.
    /// The verdict fails when the export holds no entry, or does not end with a checkpoint
    /// that seals its last entry (`unsealedEnd`, `emptyExport`).
    /// - Throws: `AuditError` when the file cannot be read or a line is malformed.
    ///   - allowPartial: accept an export that starts after entry 1 (made with `--since`); the
    ///     verdict then covers only what follows, and its warnings say so.
    public static func verify(exportAt path: String, keys: [MessageVerifyingKey],
                              checkpoints: [AuditCheckpoint] = [], allowPartial: Bool = false) throws -> AuditVerification {
        let reader = try AuditExportReader(path: path)
        let first = try reader.next()
        // A partial export (`audit export --since`) starts after an entry it does not hold: the
        // chain is checked from the first entry's link on, and the result says so.
        var verifier: AuditVerifier
        if allowPartial, case .entry(let e) = first, e.sequence > 1 {
            verifier = AuditVerifier(keys: keys, resumingAfter: e.sequence - 1, headHash: e.previousHash)
        } else {
            verifier = AuditVerifier(keys: keys)
        }
        for cp in checkpoints.sorted(by: { $0.sequence < $1.sequence }) { verifier.add(cp) }
        if let first { verifier.add(first) }
        while verifier.problem == nil, let record = try reader.next() {
            verifier.add(record)
        }
        // An export always ends with the checkpoint of its last entry (`audit export` seals it
        // first, or stops at the last checkpoint): anything else was cut short.
        return verifier.finish().requiringSealedEnd()
    }
}
