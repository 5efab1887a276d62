import ClaimGateCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// The shared backend: a PostgreSQL database several gateway nodes use at once. A small pool of
/// connections on a private event loop, driven from the store's (blocking) callers.
///
/// - Writes: `BEGIN`, then the audit chain's head row is locked (`SELECT … FOR UPDATE`), so the
///   group commits of every node take turns and their entries form one chain with no gap and
///   no fork; `COMMIT` returns once PostgreSQL has flushed its WAL (`synchronous_commit` as the
///   server sets it; `on` by default).
/// - Reads: `REPEATABLE READ READ ONLY` transactions, one consistent snapshot each.
/// - A connection that failed is dropped; the next call opens a new one, so the nodes carry on
///   once the database is back (a restart, a failover).
public final class PostgresDatabase: SQLDatabase, @unchecked Sendable {
    public let postgres: PostgresLocation
    public let isReadOnly: Bool
    public var dialect: SQLDialect { .postgresql }
    public var location: String { postgres.description }
    let configuration: PostgresConnection.Configuration
    let logger: Logger
    /// Connections at most, readers and the writer together.
    let maxConnections: Int
    /// Connections kept open while unused; more are closed when returned, so a quiet node holds
    /// a few connections, not its busiest moment's.
    let maxIdle = 3
    private let state = Mutex(PoolState())
    private let slots: DispatchSemaphore
    private let nextID = Atomic<Int>(1)

    private struct PoolState: ~Copyable {
        /// Unused connections, with when each was returned; the last is the most recent.
        var idle: [(connection: PostgresConnection, since: NIODeadline)] = []
        var sweeper: RepeatedTask?
    }

    /// A connection unused this long is closed.
    static let idleTimeout = TimeAmount.seconds(10)

    /// One event loop for every database this process opens: the callers block on semaphores,
    /// never on this loop, so it only moves bytes.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Connects, and (unless `readOnly`) brings the schema up to date under a database lock, so
    /// that whichever node starts first migrates and the others wait, then find nothing to do.
    /// - Throws: `ClaimGateError(.io)` when the database cannot be reached or was migrated by a
    ///   newer ClaimGate, or (read-only) by an older one.
    public init(_ location: PostgresLocation, readOnly: Bool = false, maxConnections: Int = 10) throws {
        postgres = location
        isReadOnly = readOnly
        self.maxConnections = maxConnections
        slots = DispatchSemaphore(value: maxConnections)
        logger = Logger(label: "claimgate.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable:
            tls = .disable
        case .require:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .none
            do { tls = .require(try NIOSSLContext(configuration: c)) } catch { throw Self.explain(error, location: location) }
        case .verifyFull:
            do { tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration())) } catch { throw Self.explain(error, location: location) }
        }
        let password = location.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        var config = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                      password: password, database: location.database, tls: tls)
        config.options.connectTimeout = .seconds(10)
        configuration = config
        Self.lastOpened.withLock { $0 = location }
        startSweeping()
        do {
            if readOnly {
                try PostgresSchema.requireCurrent(self)
            } else {
                try PostgresSchema.migrate(self)
            }
        } catch {
            throw Self.explain(error, location: location)
        }
    }

    deinit {
        let (idle, sweeper) = state.withLock { s in
            defer { s.idle = []; s.sweeper = nil }
            return (s.idle, s.sweeper)
        }
        sweeper?.cancel()
        for c in idle { Self.close(c.connection) }
    }

    /// Closes the connections unused for `idleTimeout`, every few seconds, so a quiet node holds
    /// no connection it does not use (and a test process opening many stores does not exhaust the
    /// server's `max_connections`).
    private func startSweeping() {
        let task = Self.eventLoops.next().scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { [weak self] _ in
            self?.closeIdle()
        }
        let previous = state.withLock { s in defer { s.sweeper = task }; return s.sweeper }
        previous?.cancel()
    }

    private func closeIdle() {
        let cutoff = NIODeadline.now() - Self.idleTimeout
        let stale = state.withLock { s in
            let old = s.idle.filter { $0.since < cutoff }
            s.idle.removeAll { $0.since < cutoff }
            return old
        }
        for c in stale { Self.close(c.connection) }
    }

    // MARK: SQLDatabase

    public func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try withSession { session in
            try session.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return try session.inTransaction(body)
        }
    }

    public func readStatement<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try withSession { try body($0) }
    }

    public func write(_ body: (any SQLSession) throws -> Void) throws {
        guard !isReadOnly else {
            throw ClaimGateError(.io, "The gateway database \(location) was opened for reading only.")
        }
        try withSession { session in
            try session.run("BEGIN")
            return try session.inTransaction { s in
                // One writer at a time across every node: the audit chain's head.
                try s.execute("SELECT id FROM audit_head WHERE id = 1 FOR UPDATE", [], cached: true)
                try body(s)
            }
        }
    }

    public func probeWrite() throws {
        try withSession { session in
            try session.run("BEGIN")
            defer { try? session.run("ROLLBACK") }
            try session.execute("UPDATE gateway_setting SET value = value WHERE FALSE", [], cached: false)
        }
    }

    public func schemaVersion() throws -> String {
        try readStatement { s in
            try String.fetchAll(s, sql: "SELECT step FROM claimgate_schema").max { a, b in
                (PostgresSchema.steps.firstIndex { $0.id == a } ?? -1) < (PostgresSchema.steps.firstIndex { $0.id == b } ?? -1)
            } ?? "none"
        }
    }

    public func replicationLag() throws -> Double? {
        try readStatement { s in
            try Double.fetchOne(s, sql: "SELECT CAST(EXTRACT(EPOCH FROM max(replay_lag)) AS double precision) FROM pg_stat_replication")
        }
    }

    public func describeWriteFailure(_ error: any Error) -> String {
        Self.explain(error, location: postgres).message
    }

    // MARK: Connections

    /// Runs `body` on a pooled connection; a connection that failed is closed and not reused.
    func withSession<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        // A pooled connection the server closed meanwhile (a restart, a failover) is dropped.
        var pooled: PostgresConnection?
        while pooled == nil, let c = state.withLock({ $0.idle.popLast()?.connection }) {
            if c.isClosed { Self.close(c) } else { pooled = c }
        }
        let connection = try pooled ?? connect()
        let session = PostgresSession(connection, logger: logger)
        do {
            let result = try body(session)
            release(connection, broken: session.broken)
            return result
        } catch {
            release(connection, broken: session.broken || connection.isClosed)
            throw error
        }
    }

    private func release(_ connection: PostgresConnection, broken: Bool) {
        let kept = !broken && !connection.isClosed && state.withLock { s in
            guard s.idle.count < maxIdle else { return false }
            s.idle.append((connection, .now()))
            return true
        }
        if !kept { Self.close(connection) }
    }

    /// Closes `connection`, kept alive until it is closed (PostgresNIO requires it).
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    private func connect() throws -> PostgresConnection {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        return try PostgresSession.wait(PostgresConnection.connect(on: Self.eventLoops.next(), configuration: configuration,
                                                                   id: id, logger: logger))
    }

    // MARK: Errors

    /// The database this process opened last, for `explainIfDatabaseError`.
    private static let lastOpened = Mutex<PostgresLocation?>(nil)

    /// One sentence for an error of the PostgreSQL connection or server (unreachable, refused,
    /// no answer…) with what to do; nil for any other error.
    static func explainIfDatabaseError(_ error: any Error) -> ClaimGateError? {
        guard error is PSQLError || error is PostgresSession.NoAnswer, let location = lastOpened.withLock({ $0 }) else { return nil }
        return explain(error, location: location)
    }

    /// One sentence for an error PostgreSQL or the connection reported, with what to do.
    static func explain(_ error: any Error, location: PostgresLocation) -> ClaimGateError {
        if let e = error as? ClaimGateError { return e }
        guard let e = error as? PSQLError else {
            return ClaimGateError(.io, "The gateway database \(location) cannot be reached: \(error). Check that PostgreSQL is running and the URL is right.",
                                  diagnostics: "\(error)")
        }
        let state = e.serverInfo?[.sqlState] ?? ""
        let what: String
        switch e.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            what = "cannot be reached (connection refused or lost): check that PostgreSQL is running at \(location.host):\(location.port) and accepts this node"
        case .sslUnsupported:
            what = "does not offer TLS although sslmode asks for it: enable ssl on the server, or use sslmode=disable on a private link"
        case .authMechanismRequiresPassword, .saslError, .unsupportedAuthMechanism:
            what = "refused the sign-in of user \(location.user): set PGPASSWORD, or check pg_hba.conf"
        case .server:
            switch state {
            case "28P01", "28000": what = "refused the sign-in of user \(location.user): check PGPASSWORD and pg_hba.conf"
            case "3D000": what = "does not exist: create it (createdb -O \(location.user) \(location.database)), then try again"
            case "42501": what = "refuses this user the change: grant \(location.user) the rights on the database (it must own the schema to migrate it)"
            case "53100": what = "cannot be written because the server's disk is full: free space, then try again"
            case "57P01", "57P02", "57P03": what = "is shutting down or starting up: try again when it is back"
            case "25006": what = "is read-only (a standby?): point the gateway at the primary"
            default: what = "reported an error (SQLSTATE \(state)): \(e.serverInfo?[.message] ?? "see the server's log")"
            }
        default:
            what = "cannot be used: \(e.code)"
        }
        return ClaimGateError(.io, "The gateway database \(location) \(what).", diagnostics: "\(String(reflecting: e))")
    }
}
