import ClaimGateCore
import Foundation
import Store

/// The gateway's state directory and the fixed layout inside it.
///
/// ```
/// HOME/claimgate.sqlite      database (partners, bundles, events), the embedded default
/// HOME/database.url          or: the PostgreSQL database several nodes share (no password)
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

    /// The SQLite database, unless the home records a PostgreSQL one (`databaseURLFile`).
    public var database: String { root + "/claimgate.sqlite" }
    /// Where `claimgate init --database postgresql://…` records the shared database.
    public var databaseURLFile: String { root + "/database.url" }
    public var identity: String { root + "/identity" }
    public var outbox: String { root + "/outbox" }
    public func outbox(for partner: PartnerID) -> String { outbox + "/" + partner.rawValue }
    /// Uploads received from partners, one folder each.
    public var inbound: String { root + "/inbound" }
    public func inbound(for partner: PartnerID) -> String { inbound + "/" + partner.rawValue }

    /// Work files of the operator API: uploads waiting to be sealed, bundles sealed for a
    /// download, audit exports being sent (0700, each file 0600, removed when done or stale).
    public var scratch: String { root + "/scratch" }

    public var isInitialised: Bool {
        (FileManager.default.fileExists(atPath: database) || FileManager.default.fileExists(atPath: databaseURLFile))
            && FileManager.default.fileExists(atPath: identity + "/signing.pem")
    }

    /// The PostgreSQL database this home records, if any (else the home's SQLite file is used).
    /// - Throws: when `database.url` cannot be read or does not hold a PostgreSQL URL.
    public func recordedDatabase() throws -> PostgresLocation? {
        guard FileManager.default.fileExists(atPath: databaseURLFile) else { return nil }
        guard let data = FileManager.default.contents(atPath: databaseURLFile) else {
            throw ClaimGateError(.io, "Cannot read \(databaseURLFile): check its permissions.")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            return try PostgresLocation(url: text)
        } catch let e as ClaimGateError {
            throw ClaimGateError(.io, "\(databaseURLFile) does not hold a usable database URL: \(e.message) Write the URL there again (one line).")
        }
    }

    /// Opens this home's store: the PostgreSQL database it records, else its SQLite file.
    /// - Parameter readOnly: open for reading only (nothing is created, migrated or written).
    public func openStore(readOnly: Bool = false) throws -> GatewayStore {
        if let postgres = try recordedDatabase() {
            return GatewayStore(database: try PostgresDatabase(postgres, readOnly: readOnly))
        }
        return readOnly ? try GatewayStore(readingAt: database) : try GatewayStore(path: database)
    }

    /// Records `postgres` (without its password) as this home's database: a new file, 0600,
    /// written whole (temporary file, fsync, rename).
    func recordDatabase(_ postgres: PostgresLocation) throws {
        try FileSystem.writeAtomically(Data((postgres.description + "\n").utf8), to: databaseURLFile, mode: 0o600)
    }

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
        return writable(root) && (FileManager.default.fileExists(atPath: databaseURLFile) || writable(database))
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
