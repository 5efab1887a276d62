import ClaimGateCore

/// The archive rules of docs/bundle-format.md, shared by both archive readers: only regular
/// files named `manifest.json` or `documents/<name>` (a valid document name), the optional
/// directory entry `documents/`, no name twice, and a manifest of at most 1 MiB.
struct BundleArchiveLayout {
    static let manifestName = "manifest.json"
    static let documentsPrefix = "documents/"
    static let maxManifestSize = 1 << 20

    /// What an accepted member is.
    enum Member: Equatable {
        case manifest
        /// A document, by its name inside `documents/`.
        case document(String)
        case documentsDirectory
    }

    private var seen = Set<String>()
    private(set) var sawManifest = false

    /// Classifies one member, refusing anything the rules do not allow.
    /// - Parameters:
    ///   - name: its path in the archive.
    ///   - isFile: a regular file (not a link); `isDirectory`: a directory entry. Neither: refused.
    ///   - size: its data size.
    mutating func classify(name: String, isFile: Bool, isDirectory: Bool, size: Int64) throws -> Member {
        let member: Member
        if isFile {
            if name == Self.manifestName {
                member = .manifest
            } else {
                guard name.hasPrefix(Self.documentsPrefix),
                      let doc = try? DocumentName.validate(String(name.dropFirst(Self.documentsPrefix.count))) else {
                    throw PackagingError(.layout, "The bundle archive holds '\(name.prefix(80))', which is not manifest.json or documents/<name>: refused.")
                }
                member = .document(doc)
            }
        } else if isDirectory, name == "documents/" || name == "documents" {
            member = .documentsDirectory
        } else {
            throw PackagingError(.layout, "The bundle archive holds '\(name.prefix(80))', which is not a regular file: links and special files are refused.")
        }
        // "documents" and "documents/" are the same directory.
        let key = member == .documentsDirectory ? "documents/" : name
        guard seen.insert(key).inserted else {
            throw PackagingError(.layout, "The bundle archive holds '\(name.prefix(80))' twice: it was not made by ClaimGate.")
        }
        if member == .manifest {
            guard size <= Int64(Self.maxManifestSize) else {
                throw PackagingError(.layout, "The bundle's manifest.json is not a regular file of at most 1 MiB.")
            }
            sawManifest = true
        }
        return member
    }

    /// The archive ended: the manifest must have been in it.
    func finish() throws {
        guard sawManifest else {
            throw PackagingError(.layout, "The bundle archive has no manifest.json: it was not made by ClaimGate.")
        }
    }
}
