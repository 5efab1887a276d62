import CArchive
import Foundation

/// Writes a bundle's pax tar archive (`documents/<name>` entries, then `manifest.json`) to a sink,
/// in one pass and without blocking or buffering of its own.
public final class BundleArchiveWriter {
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let archive: OpaquePointer
    private let sink: Sink
    private var sinkError: Error?
    private var closed = false

    /// - Parameter sink: receives the archive's bytes in order; a thrown error aborts the archive.
    public init(sink: @escaping Sink) throws {
        guard let a = archive_write_new() else { throw PackagingError(.io, "Out of memory.") }
        archive = a
        self.sink = sink
        try check(archive_write_set_format_pax_restricted(a), "select the pax format")
        try check(archive_write_set_bytes_per_block(a, 0), "disable blocking")
        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(archive_write_open2(a, me, nil, { _, client, buffer, length in
            let writer = Unmanaged<BundleArchiveWriter>.fromOpaque(client!).takeUnretainedValue()
            do {
                try writer.sink(UnsafeRawBufferPointer(start: buffer, count: length))
                return length
            } catch {
                writer.sinkError = error
                return -1
            }
        }, nil, nil), "open the archive")
    }

    deinit { archive_write_free(archive) }

    /// Adds one regular file.
    /// - Parameters:
    ///   - path: the entry's path, e.g. `documents/report.pdf`.
    ///   - size: its exact size in bytes (tar needs it up front).
    ///   - modified: its modification time.
    ///   - body: called once with a `write` function; must write exactly `size` bytes.
    public func addFile(path: String, size: Int64, modified: Date,
                        body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        guard let e = archive_entry_new() else { throw PackagingError(.io, "Out of memory.") }
        defer { archive_entry_free(e) }
        // libarchive converts names through the process locale's character set, and crashes
        // (libarchive 3.6) on a name it cannot convert: a non-ASCII name needs a UTF-8 locale
        // (the claimgate command sets one).
        if path.utf8.contains(where: { $0 >= 0x80 }) {
            let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
            guard codeset == "UTF-8" else {
                throw PackagingError(.document, "The name '\(path)' cannot be written with this process's character set (\(codeset)): run with a UTF-8 locale (LC_CTYPE=C.UTF-8), or rename the document.")
            }
        }
        archive_entry_set_pathname_utf8(e, path)
        archive_entry_set_filetype(e, shim_AE_IFREG())
        archive_entry_set_perm(e, 0o644)
        archive_entry_set_size(e, size)
        archive_entry_set_mtime(e, time_t(modified.timeIntervalSince1970), 0)
        archive_entry_set_uname(e, "claimgate")
        archive_entry_set_gname(e, "claimgate")
        try check(archive_write_header(archive, e), "write the header of \(path)")
        var written: Int64 = 0
        try body { bytes in
            guard bytes.count > 0 else { return }
            let n = archive_write_data(self.archive, bytes.baseAddress, bytes.count)
            if n < 0 { try self.check(Int32(n), "write \(path)") }
            written += Int64(n)
        }
        guard written == size else {
            throw PackagingError(.document, "\(path) changed while it was being sealed (\(written) bytes read, \(size) expected): seal it again when it is no longer being written.")
        }
        try check(archive_write_finish_entry(archive), "finish \(path)")
    }

    /// Adds an in-memory file.
    public func addFile(path: String, data: Data, modified: Date) throws {
        try addFile(path: path, size: Int64(data.count), modified: modified) { write in
            try data.withUnsafeBytes { try write($0) }
        }
    }

    /// Writes the end-of-archive blocks.
    public func finish() throws {
        guard !closed else { return }
        closed = true
        try check(archive_write_close(archive), "close the archive")
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc < ARCHIVE_OK else { return }
        if let sinkError { throw sinkError }
        let detail = archive_error_string(archive).map { String(cString: $0) } ?? "error \(rc)"
        throw PackagingError(.archive, "Could not \(what) in the bundle archive.", diagnostics: detail)
    }
}
