import Foundation
import Store

/// A store for a test on either backend: an SQLite file in `dir`, or a new database on the shared
/// PostgreSQL server. `open()` opens it again, as another process (or node) would.
public struct TestStore: Sendable {
    public let backend: TestDatabase
    public let path: String
    public let url: String?

    public init(_ backend: TestDatabase, in dir: TemporaryDirectory, name: String = "db.sqlite") throws {
        self.backend = backend
        path = dir.file(name)
        url = try backend.newDatabaseURL()
    }

    /// A new connection (pool) to the store, migrated if needed.
    public func open() throws -> GatewayStore {
        if let url { return GatewayStore(database: try PostgresDatabase(try PostgresLocation(url: url))) }
        return try GatewayStore(path: path)
    }

    /// The store opened for reading only.
    public func openReadOnly() throws -> GatewayStore {
        if let url { return GatewayStore(database: try PostgresDatabase(try PostgresLocation(url: url), readOnly: true)) }
        return try GatewayStore(readingAt: path)
    }
}
