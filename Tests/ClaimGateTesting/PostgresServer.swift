import Foundation

/// A stock PostgreSQL (Debian's `postgresql` package) for tests: a cluster made with `initdb` in
/// a temporary folder (as the `postgres` account when the tests run as root, which PostgreSQL
/// refuses to run as), listening on 127.0.0.1 only, on a free port, with its socket in that
/// folder; started by the test and stopped by PID as `pg_ctl stop` does (`stop(mode: .immediate)`
/// is a crash: no checkpoint, recovery at the next start). Nothing outside the folder is touched;
/// `deinit` stops it.
public final class PostgresServer: @unchecked Sendable {
    public enum StopMode: String { case fast, immediate }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let dir: TemporaryDirectory
    public let port: Int
    /// The cluster's data folder.
    public var dataPath: String { dir.file("data") }
    /// The superuser the cluster was made for, who every test connects as.
    public let user: String
    public private(set) var isRunning = false
    private var server: ServerProcess?

    /// The binaries of the newest installed major version (`/usr/lib/postgresql/N/bin`).
    public static func binaries() throws -> String {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).sorted()
        guard let v = versions.last, FileManager.default.isExecutableFile(atPath: "\(base)/\(v)/bin/initdb") else {
            throw Failure(description: "PostgreSQL is not installed (no \(base)/N/bin/initdb): run scripts/install-deps (Debian's postgresql).")
        }
        return "\(base)/\(v)/bin"
    }

    /// Runs as the cluster's owner: `setpriv` to `postgres` when the tests run as root.
    private static var owner: [String] { getuid() == 0 ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"] : [] }

    /// Makes the cluster and starts it.
    public init() throws {
        dir = TemporaryDirectory("claimgate-postgres")
        port = try FreePort.find()
        user = getuid() == 0 ? "postgres" : (ProcessInfo.processInfo.environment["USER"] ?? "postgres")
        if getuid() == 0 { try Self.check(try Shell.run(["chown", "-R", "postgres:postgres", dir.path]), "chown") }
        let initdb = Self.owner + [try Self.binaries() + "/initdb", "-D", dataPath, "-U", user, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]
        try Self.check(try Shell.run(initdb, environment: ["HOME": dir.path], directory: "/"), "initdb")
        try start()
    }

    deinit { try? stop(mode: .fast) }

    /// The URL a client connects with: `postgresql://USER@127.0.0.1:PORT/DB`.
    public func url(database: String = "postgres") -> String { "postgresql://\(user)@127.0.0.1:\(port)/\(database)" }

    /// Starts the server in the foreground of a process of the test's own (`postgres -D`, as the
    /// cluster's owner) and waits until it accepts connections. Not `pg_ctl start`: the daemon it
    /// leaves behind a Foundation `Process` stalls the test runner's later runs (see
    /// `ServerProcess`); here the PID is the postmaster's, which `stop` signals as `pg_ctl stop`
    /// does.
    public func start() throws {
        let postgres = [try Self.binaries() + "/postgres", "-D", dataPath, "-c", "listen_addresses=127.0.0.1", "-p", "\(port)",
                        "-k", dir.path, "-c", "fsync=on", "-c", "max_connections=1000"]
        let s = try ServerProcess(Self.owner + postgres, logPath: dir.file("postgres.log"), environment: ["HOME": dir.path])
        server = s
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if s.text.contains("database system is ready to accept connections"), FreePort.isListening(port) {
                isRunning = true
                return
            }
            guard s.isRunning else { break }
            usleep(50_000)
        }
        throw Failure(description: "PostgreSQL did not start: \(s.text.suffix(2000))")
    }

    /// Stops the server as `pg_ctl stop -m MODE` does: `fast` (SIGINT: clients cut off, a
    /// checkpoint, a clean shutdown) or `immediate` (SIGQUIT: no checkpoint, recovery at the next
    /// start, like a crash), and waits for it to exit.
    public func stop(mode: StopMode = .fast) throws {
        guard isRunning, let s = server else { return }
        isRunning = false
        kill(s.pid, mode == .fast ? SIGINT : SIGQUIT)
        let deadline = Date().addingTimeInterval(60)
        while s.isRunning, Date() < deadline { usleep(20_000) }
        s.stop()
        server = nil
    }

    /// The running server's PID (the postmaster's).
    public var pid: Int32? { isRunning ? server?.pid : nil }

    /// Stock `psql` over TCP: runs `sql` and answers its rows unaligned, `|` between columns.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let r = try Shell.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", user,
                               "-d", database, "-c", sql])
        try Self.check(r, "psql")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func check(_ r: Shell.Result, _ what: String) throws {
        guard r.succeeded else { throw Failure(description: "\(what) failed (\(r.status)): \(r.stderr)\(r.stdout)") }
    }
}
