/// One database connection inside a read or a write transaction, of either backend. The store's
/// SQL is written once for both: `?` placeholders, standard SQL, and the few functions that
/// differ come from `dialect`. Only the store sees this type.
public protocol SQLSession: AnyObject {
    var dialect: SQLDialect { get }
    /// Rows changed by the last `execute`.
    var changesCount: Int { get }
    /// Runs one statement; returns how many rows it inserted, updated or deleted.
    /// - Parameter cached: the statement is one of a small fixed set run often, worth keeping
    ///   prepared (SQLite); ignored where statements are not kept.
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> Int
    /// Runs a query and returns all its rows.
    func rows(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> [SQLRow]
    /// Runs a query and hands its rows out one by one, without holding them all in memory.
    func cursor(_ sql: String, _ arguments: SQLArguments) throws -> any SQLCursor
}

extension SQLSession {
    public func execute(sql: String, arguments: SQLArguments = []) throws {
        try execute(sql, arguments, cached: false)
    }

    public func cachedStatement(sql: String) -> SQLStatement { SQLStatement(session: self, sql: sql) }
}

extension SQLRow {
    public static func fetchAll(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> [SQLRow] {
        try db.rows(sql, arguments, cached: false)
    }

    public static func fetchAll(_ statement: SQLStatement, arguments: SQLArguments = []) throws -> [SQLRow] {
        try statement.session.rows(statement.sql, arguments, cached: true)
    }

    public static func fetchOne(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> SQLRow? {
        try db.rows(sql, arguments, cached: false).first
    }

    public static func fetchOne(_ statement: SQLStatement, arguments: SQLArguments = []) throws -> SQLRow? {
        try statement.session.rows(statement.sql, arguments, cached: true).first
    }

    public static func fetchCursor(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> any SQLCursor {
        try db.cursor(sql, arguments)
    }
}

extension SQLDecodable {
    /// The first column of the first row; nil when there is no row or it holds NULL.
    public static func fetchOne(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> Self? {
        try db.rows(sql, arguments, cached: false).first.flatMap { $0.values.first }.flatMap(Self.init(sqlValue:))
    }

    public static func fetchOne(_ statement: SQLStatement, arguments: SQLArguments = []) throws -> Self? {
        try statement.session.rows(statement.sql, arguments, cached: true).first.flatMap { $0.values.first }.flatMap(Self.init(sqlValue:))
    }

    /// The first column of every row, NULLs left out.
    public static func fetchAll(_ db: any SQLSession, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        try db.rows(sql, arguments, cached: false).compactMap { $0.values.first.flatMap(Self.init(sqlValue:)) }
    }
}
