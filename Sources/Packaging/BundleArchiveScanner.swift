import ClaimGateCore
import Envelope

/// Where a `BundleArchiveScanner` puts each document's bytes.
protocol ScannedDocumentStore: AnyObject {
    /// Document number `index` (0, 1, … in archive order) starts; `size` bytes follow.
    func begin(index: Int, size: Int64) throws
    /// The next bytes of the current document.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// The current document is complete.
    func end() throws
}

/// Reads a bundle's tar archive as it streams by (`TarStreamReader`), holding it to the archive
/// rules (`BundleArchiveLayout`): documents go to a store with their size and SHA-256 recorded,
/// the manifest (at most 1 MiB) is kept in memory. Nothing is checked against the manifest here:
/// it comes last (docs/bundle-format.md), so that check is `BundleArchiveExtractor.release`'s.
final class BundleArchiveScanner: TarMemberHandler {
    /// A document as it was found in the archive.
    struct Document: Equatable {
        let name: String
        let size: Int64
        /// SHA-256 of its bytes, lowercase hex.
        let sha256: String
    }

    private let tar: TarStreamReader
    private let store: ScannedDocumentStore
    private var layout = BundleArchiveLayout()
    private(set) var documents: [Document] = []
    private(set) var manifest: [UInt8]?

    private var current: BundleArchiveLayout.Member?
    private var currentName = ""
    private var currentSize: Int64 = 0
    private var hasher: SHA256Hasher?
    private var manifestBytes: [UInt8] = []

    /// - Parameters:
    ///   - store: receives the documents' bytes.
    ///   - maxPaxHeaderSize: cap on one pax extended header.
    init(store: ScannedDocumentStore, maxPaxHeaderSize: Int = 64 << 10) {
        self.store = store
        tar = TarStreamReader(maxPaxHeaderSize: maxPaxHeaderSize)
    }

    /// The next bytes of the archive.
    func consume(_ bytes: UnsafeRawBufferPointer) throws {
        try tar.consume(bytes, self)
    }

    /// The archive ended: it must have ended properly and held a manifest.
    func finish() throws {
        try tar.finish()
        try layout.finish()
    }

    // MARK: TarMemberHandler

    func beginMember(_ member: TarMember) throws {
        let kind = try layout.classify(name: member.name, isFile: member.kind == .file,
                                       isDirectory: member.kind == .directory, size: member.size)
        current = kind
        currentSize = member.size
        switch kind {
        case .manifest:
            manifestBytes = []
            manifestBytes.reserveCapacity(Int(member.size))
        case .document(let name):
            guard documents.count < BundleManifest.maxDocuments else {
                throw PackagingError(.layout, "The bundle archive holds more than \(BundleManifest.maxDocuments) documents: refused.")
            }
            currentName = name
            hasher = SHA256Hasher()
            try store.begin(index: documents.count, size: member.size)
        case .documentsDirectory:
            break
        }
    }

    func memberData(_ bytes: UnsafeRawBufferPointer) throws {
        switch current {
        case .manifest:
            manifestBytes.append(contentsOf: bytes)
        case .document:
            hasher?.update(bytes)
            try store.write(bytes)
        default:
            break
        }
    }

    func endMember() throws {
        switch current {
        case .manifest:
            manifest = manifestBytes
            manifestBytes = []
        case .document:
            try store.end()
            documents.append(Document(name: currentName, size: currentSize, sha256: hasher?.finalizeHex() ?? ""))
            hasher = nil
        default:
            break
        }
        current = nil
    }
}
