import ClaimGateCore
import Foundation

/// Where a PostgreSQL database is: `postgresql://USER@HOST:PORT/DB`, optionally with
/// `?sslmode=disable|require|verify-full` (libpq's names; `disable` unless given). The password
/// is never part of what a home records: it comes from `PGPASSWORD` (or, for a quick trial only,
/// from the URL given to the command, which is not recorded).
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        /// No TLS: for a database on the same host or a private link.
        case disable
        /// TLS without checking the server's certificate (libpq's `require`).
        case require
        /// TLS, the certificate checked against the system's trust store and the host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode
    /// From the URL; never written back by `description`.
    public var password: String?

    /// Parses `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=MODE]` (`postgres://` too).
    /// - Throws: `ClaimGateError(.invalidArgument)` saying what is wrong.
    public init(url text: String) throws {
        func bad(_ why: String) -> ClaimGateError {
            ClaimGateError(.invalidArgument, "The database URL \(Self.redacted(text)) \(why): give postgresql://USER@HOST:PORT/DATABASE (the password in PGPASSWORD).")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "postgresql" || scheme == "postgres" else { throw bad("is not a postgresql:// URL") }
        guard let user = components.user, !user.isEmpty else { throw bad("names no user") }
        guard let host = components.host, !host.isEmpty else { throw bad("names no host") }
        let db = String(components.path.drop(while: { $0 == "/" }))
        guard !db.isEmpty, !db.contains("/") else { throw bad("names no database") }
        var tls = TLSMode.disable
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else { throw bad("has an option ClaimGate does not know (\(item.name))") }
            guard let mode = TLSMode(rawValue: item.value ?? "") else { throw bad("has an sslmode other than disable, require or verify-full") }
            tls = mode
        }
        self.user = user
        self.host = host
        self.port = components.port ?? 5432
        self.database = db
        self.tls = tls
        self.password = components.password
        guard (1...65535).contains(port) else { throw bad("has a port out of range") }
    }

    /// The URL without the password: what a home records and messages show.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let u = user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? user
        let d = database.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? database
        return "postgresql://\(u)@\(h):\(port)/\(d)" + (tls == .disable ? "" : "?sslmode=\(tls.rawValue)")
    }

    /// `text` with any password replaced by `***`, for messages.
    static func redacted(_ text: String) -> String {
        guard var c = URLComponents(string: text), c.password != nil else { return text }
        c.password = "***"
        return c.string ?? "postgresql://…"
    }
}
