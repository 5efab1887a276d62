import ClaimGateCore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One pooled PostgreSQL connection inside one of `PostgresDatabase`'s reads or writes: the
/// store's SQL with `?` placeholders becomes `$1, $2…`, and values are bound as `bigint`,
/// `double precision`, `text` or `bytea`.
final class PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger
    private(set) var changesCount = 0
    /// Set when the connection failed (rather than a statement): it is not reused.
    private(set) var broken = false
    private var cursors = 0
    var dialect: SQLDialect { .postgresql }

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    func execute(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> Int {
        let result = try query(sql, arguments)
        changesCount = result.metadata.rows ?? 0
        return changesCount
    }

    func rows(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> [SQLRow] {
        let result = try query(sql, arguments)
        return try Self.rows(result.rows)
    }

    /// A server-side cursor (the caller is in a transaction), read 500 rows at a time.
    func cursor(_ sql: String, _ arguments: SQLArguments) throws -> any SQLCursor {
        cursors += 1
        let name = "claimgate_cursor_\(cursors)"
        try execute("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", arguments, cached: false)
        return PostgresCursor(session: self, name: name)
    }

    /// A statement without arguments (`BEGIN`, `COMMIT`…).
    func run(_ sql: String) throws {
        _ = try query(sql, [])
    }

    /// Runs `body` in the transaction the caller began: `COMMIT` when it returns, `ROLLBACK`
    /// when it throws.
    func inTransaction<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        let result: T
        do {
            result = try body(self)
        } catch {
            if !broken { try? run("ROLLBACK") }
            throw error
        }
        try run("COMMIT")
        return result
    }

    func query(_ sql: String, _ arguments: SQLArguments) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.values.count)
        for v in arguments.values {
            switch v {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .real(let r): binds.append(r)
            case .text(let s): binds.append(s)
            case .blob(let d): binds.append(ByteBuffer(bytes: d))
            }
        }
        do {
            return try Self.wait(connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: binds), logger: logger),
                                 timeout: Self.answerTimeout)
        } catch let e as PSQLError where e.code != .server {
            broken = true
            throw e
        } catch let e as NoAnswer {
            broken = true
            throw e
        }
    }

    /// Rows as the store reads them: integers (and booleans, as 0 or 1), reals, text, bytes.
    static func rows(_ rows: [PostgresRow]) throws -> [SQLRow] {
        guard let first = rows.first else { return [] }
        let columns = SQLColumns(first.map(\.columnName))
        return try rows.map { row in SQLRow(columns: columns, values: try row.map(value)) }
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .numeric:
            let d = try cell.decode(Decimal.self)
            let text = "\(d)"
            if let i = Int64(text) { return .integer(i) }
            return .real(Double(text) ?? 0)
        case .bytea: return .blob(try cell.decode(Data.self))
        default: return .text(try cell.decode(String.self))
        }
    }

    /// How long a statement may go without an answer before its connection is given up: a
    /// server or link that died without closing the connection (a crash, a partition) would
    /// otherwise hold the caller for ever.
    static let answerTimeout: TimeInterval = 120

    /// No answer from the server within `answerTimeout`.
    struct NoAnswer: Error, CustomStringConvertible {
        let seconds: TimeInterval
        var description: String { "the database server did not answer within \(Int(seconds)) s" }
    }

    /// Waits for `future` on the calling thread (never an event loop thread: the store's callers
    /// are request threads and tasks), at most `timeout` seconds when given.
    static func wait<T: Sendable>(_ future: EventLoopFuture<T>, timeout: TimeInterval? = nil) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<T, any Error>?>(nil)
        future.whenComplete { r in
            box.withLock { $0 = r }
            done.signal()
        }
        if let timeout {
            guard done.wait(timeout: .now() + timeout) == .success else { throw NoAnswer(seconds: timeout) }
        } else {
            done.wait()
        }
        return try box.withLock { $0! }.get()
    }

    private static let translated = Mutex<[String: String]>([:])

    /// `sql` with its `?` placeholders numbered (`$1`, `$2`…), outside quoted strings and names.
    static func numbered(_ sql: String) -> String {
        if let t = translated.withLock({ $0[sql] }) { return t }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character?
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
                out.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        translated.withLock { if $0.count < 4096 { $0[sql] = out } }
        return out
    }
}
