import CArchive
import ClaimGateCore
import Envelope
import Foundation

/// Reads a bundle's tar archive strictly: only regular files named `manifest.json` and
/// `documents/<name>` (and an optional `documents/` directory entry); nothing else, no duplicates,
/// no links, no device files.
public struct BundleArchiveReader {
    public static let manifestName = BundleArchiveLayout.manifestName
    public static let documentsPrefix = BundleArchiveLayout.documentsPrefix
    /// The largest manifest accepted.
    public static let maxManifestSize = BundleArchiveLayout.maxManifestSize

    public let path: String

    public init(path: String) { self.path = path }

    /// Checks the archive's layout and returns the bytes of `manifest.json`.
    public func readManifest() throws -> Data {
        var manifest: Data?
        try forEachEntry { member, reader in
            if member == .manifest {
                var data = Data()
                try reader { data.append(contentsOf: $0) }
                manifest = data
            }
        }
        guard let manifest else {
            throw PackagingError(.layout, "The bundle archive has no manifest.json: it was not made by ClaimGate.")
        }
        return manifest
    }

    /// Extracts every document into `directory` (which must exist and be private), checking each
    /// against the manifest's size and SHA-256. Files are created new; nothing is followed or
    /// overwritten. On error, files already written stay in `directory` for the caller to remove.
    public func extractDocuments(into directory: String, expecting documents: [BundleManifest.Document]) throws {
        var expected = Dictionary(uniqueKeysWithValues: documents.map { ($0.name, $0) })
        try forEachEntry { member, reader in
            guard case .document(let docName) = member else { return }
            guard let doc = expected.removeValue(forKey: docName) else {
                throw PackagingError(.document, "The bundle holds '\(docName.prefix(80))', which its manifest does not list: it was altered.")
            }
            let target = directory + "/" + docName
            let fd = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw PackagingError(.io, "Cannot create \(target): \(String(cString: strerror(errno))).") }
            defer { close(fd) }
            let hasher = SHA256Hasher()
            var size: Int64 = 0
            try reader { chunk in
                hasher.update(chunk)
                size += Int64(chunk.count)
                var rest = chunk
                while !rest.isEmpty {
                    let n = write(fd, rest.baseAddress, rest.count)
                    guard n > 0 else { throw PackagingError(.io, "Writing \(target) failed: check free disk space.") }
                    rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                }
            }
            guard size == doc.size, hasher.finalizeHex() == doc.sha256 else {
                throw PackagingError(.document, "Document '\(docName)' does not match its manifest entry (size or SHA-256): the bundle was altered.")
            }
            guard fsync(fd) == 0 else { throw PackagingError(.io, "Cannot flush \(target) to disk.") }
        }
        if let missing = expected.keys.sorted().first {
            throw PackagingError(.document, "Document '\(missing)' is listed in the manifest but missing from the bundle: it was altered.")
        }
    }

    /// Visits every entry after validating its name and type (BundleArchiveLayout). `reader`
    /// streams the entry's data.
    private func forEachEntry(_ visit: (BundleArchiveLayout.Member, ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Void) throws {
        guard let a = archive_read_new() else { throw PackagingError(.io, "Out of memory.") }
        defer { archive_read_free(a) }
        archive_read_support_format_tar(a)
        guard archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK else {
            throw PackagingError(.archive, "The bundle's content is not a tar archive.", diagnostics: Self.error(a))
        }
        var layout = BundleArchiveLayout()
        var entry: OpaquePointer?
        while true {
            let rc = archive_read_next_header(a, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK, let entry else {
                throw PackagingError(.archive, "The bundle's tar archive is damaged.", diagnostics: Self.error(a))
            }
            guard let cName = archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry) else {
                throw PackagingError(.layout, "The bundle archive holds an entry without a name.")
            }
            let name = String(cString: cName)
            let type = archive_entry_filetype(entry)
            let member = try layout.classify(name: name, isFile: type == shim_AE_IFREG() && archive_entry_hardlink(entry) == nil,
                                             isDirectory: type == shim_AE_IFDIR(), size: archive_entry_size(entry))
            try visit(member) { consume in
                var buf: UnsafeRawPointer?
                var len = 0
                var offset: la_int64_t = 0
                var expectedOffset: la_int64_t = 0
                while true {
                    let r = archive_read_data_block(a, &buf, &len, &offset)
                    if r == ARCHIVE_EOF { break }
                    guard r == ARCHIVE_OK, offset == expectedOffset else {
                        throw PackagingError(.archive, "The bundle's tar archive is damaged in '\(name.prefix(80))'.", diagnostics: Self.error(a))
                    }
                    try consume(UnsafeRawBufferPointer(start: buf, count: len))
                    expectedOffset += la_int64_t(len)
                }
            }
        }
    }

    private static func error(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unknown"
    }
}
