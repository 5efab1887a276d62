import Foundation
import GRDB

/// A GRDB connection inside one of `SQLiteDatabase`'s reads or writes.
final class SQLiteSession: SQLSession {
    let db: Database
    init(_ db: Database) { self.db = db }
    var dialect: SQLDialect { .sqlite }
    var changesCount: Int { db.changesCount }

    func execute(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> Int {
        let args = Self.arguments(arguments)
        if cached {
            try db.cachedStatement(sql: sql).execute(arguments: args)
        } else {
            try db.execute(sql: sql, arguments: args)
        }
        return db.changesCount
    }

    func rows(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> [SQLRow] {
        let args = Self.arguments(arguments)
        // fetchAll, not a cursor: SQLite prepares a statement again when another connection
        // changed the schema, and only fetchAll reads the columns it has then.
        let rows = cached ? try GRDB.Row.fetchAll(db.cachedStatement(sql: sql), arguments: args)
            : try GRDB.Row.fetchAll(db, sql: sql, arguments: args)
        guard let first = rows.first else { return [] }
        let columns = SQLColumns(Array(first.columnNames))
        return rows.map { SQLRow(columns: columns, values: Self.values($0)) }
    }

    func cursor(_ sql: String, _ arguments: SQLArguments) throws -> any SQLCursor {
        SQLiteCursor(rows: try GRDB.Row.fetchCursor(db, sql: sql, arguments: Self.arguments(arguments)))
    }

    static func arguments(_ a: SQLArguments) -> StatementArguments {
        StatementArguments(a.values.map { v -> DatabaseValue in
            switch v {
            case .null: .null
            case .integer(let i): i.databaseValue
            case .real(let r): r.databaseValue
            case .text(let s): s.databaseValue
            case .blob(let d): d.databaseValue
            }
        })
    }

    static func values(_ row: GRDB.Row) -> [SQLValue] {
        row.databaseValues.map { v in
            switch v.storage {
            case .null: .null
            case .int64(let i): .integer(i)
            case .double(let r): .real(r)
            case .string(let s): .text(s)
            case .blob(let d): .blob(d)
            }
        }
    }

    /// A GRDB row as the store reads rows (for the migrations, which run on GRDB directly).
    static func row(_ row: GRDB.Row) -> SQLRow {
        SQLRow(columns: SQLColumns(Array(row.columnNames)), values: values(row))
    }
}
