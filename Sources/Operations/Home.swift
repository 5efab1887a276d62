import ClaimGateCore
import Foundation

/// The gateway's state directory and the fixed layout inside it.
///
/// ```
/// HOME/claimgate.sqlite      database (partners, bundles, events)
/// HOME/identity/             gateway certificates and keys (0700; keys 0600)
/// HOME/inbound/<partner>/    files partners uploaded
/// HOME/outbox/<partner>/     sealed bundles waiting for delivery or pull (temp files are
///                            written beside their destination, then renamed)
/// ```
public struct Home: Sendable {
    public let root: String

    /// Resolves the home: `--home`, else `$CLAIMGATE_HOME`, else `./.claimgate`.
    public static func resolve(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> Home {
        let raw = option ?? environment["CLAIMGATE_HOME"] ?? ".claimgate"
        return Home(root: FileSystem.absolute(raw))
    }

    public init(root: String) { self.root = root }

    public var database: String { root + "/claimgate.sqlite" }
    public var identity: String { root + "/identity" }
    public var outbox: String { root + "/outbox" }
    public func outbox(for partner: PartnerID) -> String { outbox + "/" + partner.rawValue }
    /// Uploads received from partners, one folder each.
    public var inbound: String { root + "/inbound" }
    public func inbound(for partner: PartnerID) -> String { inbound + "/" + partner.rawValue }

    /// Work files of the operator API: uploads waiting to be sealed, bundles sealed for a
    /// download, audit exports being sent (0700, each file 0600, removed when done or stale).
    public var scratch: String { root + "/scratch" }

    public var isInitialised: Bool { FileManager.default.fileExists(atPath: database) && FileManager.default.fileExists(atPath: identity + "/signing.pem") }

    /// Whether the home may be written: its folder and database have a write permission bit and
    /// this process may write them. A home made read-only with `chmod -R a-w` is read-only here
    /// even for root, who could write it anyway: `audit export` then exports what is sealed and
    /// records nothing.
    public var isWritable: Bool {
        func writable(_ path: String) -> Bool {
            var st = stat()
            guard stat(path, &st) == 0 else { return false }
            return st.st_mode & 0o222 != 0 && access(path, W_OK) == 0
        }
        return writable(root) && writable(database)
    }

    /// Fails with a clear message when `claimgate init` has not run on this home.
    public func requireInitialised() throws {
        guard isInitialised else {
            throw ClaimGateError(.notInitialised, "No gateway at \(root): run `claimgate init --home \(root)` first, or pass the right --home.")
        }
    }

    /// Creates the directory layout with private permissions.
    func createLayout() throws {
        for dir in [root, identity, outbox] {
            try FileSystem.makeDirectory(dir, mode: 0o700)
        }
    }
}
