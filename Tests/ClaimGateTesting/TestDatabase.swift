import Foundation
import Synchronization

/// Which backend a test's store runs on. Store conformance tests take both as arguments; the
/// gateway-level suites run on `current`: SQLite, or PostgreSQL when `CLAIMGATE_TEST_DATABASE`
/// is `postgresql` (`scripts/test-postgresql` runs them so).
public enum TestDatabase: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgresql

    public static var current: TestDatabase {
        ProcessInfo.processInfo.environment["CLAIMGATE_TEST_DATABASE"] == "postgresql" ? .postgresql : .sqlite
    }

    public var description: String { rawValue }

    /// For PostgreSQL: a new, empty database on the test process's server (started on first
    /// use), as a URL for `claimgate init --database`. Nil for SQLite (the home's own file).
    public func newDatabaseURL() throws -> String? {
        guard self == .postgresql else { return nil }
        return try SharedPostgres.newDatabase()
    }
}

/// One PostgreSQL server for the whole test process, started on first use and stopped (by PID)
/// when the process exits; each test gets a database of its own on it.
public enum SharedPostgres {
    private static let state = Mutex<(server: PostgresServer?, next: Int)>((nil, 0))

    /// The server, started if it is not yet.
    public static func server() throws -> PostgresServer {
        try state.withLock { s in
            if let server = s.server { return server }
            let server = try PostgresServer()
            s.server = server
            atexit { SharedPostgres.stopAtExit() }
            return server
        }
    }

    /// Creates an empty database and returns its URL.
    public static func newDatabase() throws -> String {
        let server = try server()
        let name = state.withLock { s in s.next += 1; return "claimgate_test_\(s.next)" }
        _ = try server.psql("CREATE DATABASE \(name)")
        return server.url(database: name)
    }

    private static func stopAtExit() {
        let server = state.withLock { $0.server }
        try? server?.stop(mode: .immediate)
    }
}
