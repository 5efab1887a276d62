/// A path in a partner's virtual SFTP tree. Every client path goes through `parse`; nothing
/// else decides what a path means.
///
/// ```
/// /                 the root: lists outbox and inbox
/// /outbox           the partner's available bundles, read-only
/// /outbox/<id>.p7m  one bundle
/// /inbox            uploads, create-new only
/// /inbox/<name>     one upload
/// ```
public enum VirtualPath: Equatable, Sendable, CustomStringConvertible {
    case root
    case outbox
    case inbox
    case outboxFile(String)
    case inboxFile(String)

    /// Why a path was refused.
    public enum Refusal: Error, Equatable, Sendable {
        /// `..`, NUL or control characters: never allowed, whatever they would resolve to.
        case escape
        /// A well-formed path that is not part of the tree.
        case outsideTree
    }

    /// Parses a client path; relative paths are taken from `/`. `.` components and repeated
    /// slashes are ignored; any `..` is refused outright rather than resolved.
    public static func parse(_ raw: String) -> Result<VirtualPath, Refusal> {
        if raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return .failure(.escape) }
        let parts = raw.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        if parts.contains("..") { return .failure(.escape) }
        switch parts.count {
        case 0: return .success(.root)
        case 1 where parts[0] == "outbox": return .success(.outbox)
        case 1 where parts[0] == "inbox": return .success(.inbox)
        case 2 where isPlainName(parts[1]):
            if parts[0] == "outbox" { return .success(.outboxFile(String(parts[1]))) }
            if parts[0] == "inbox" { return .success(.inboxFile(String(parts[1]))) }
            return .failure(.outsideTree)
        case 2 where parts[0] == "inbox" && parts[1].hasPrefix(".in.") && isPlainName(parts[1].dropFirst(4)):
            // lftp's temporary upload name (`.in.NAME.`): never stored under it (see
            // `TemporaryUploadName`), so it cannot meet the gateway's own hidden files.
            return .success(.inboxFile(String(parts[1])))
        default: return .failure(.outsideTree)
        }
    }

    /// A file name the tree can hold: no leading dot, no backslash, at most 200 bytes.
    static func isPlainName(_ s: Substring) -> Bool {
        !s.isEmpty && !s.hasPrefix(".") && s.utf8.count <= 200 && !s.contains("\\")
    }

    public var description: String {
        switch self {
        case .root: return "/"
        case .outbox: return "/outbox"
        case .inbox: return "/inbox"
        case .outboxFile(let n): return "/outbox/" + n
        case .inboxFile(let n): return "/inbox/" + n
        }
    }
}
