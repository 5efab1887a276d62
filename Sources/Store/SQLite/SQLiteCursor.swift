import GRDB

/// Rows of a GRDB cursor, one at a time.
final class SQLiteCursor: SQLCursor {
    let rows: RowCursor
    private var columns: SQLColumns?
    init(rows: RowCursor) { self.rows = rows }

    func next() throws -> SQLRow? {
        guard let row = try rows.next() else { return nil }
        let c = columns ?? SQLColumns(Array(row.columnNames))
        columns = c
        return SQLRow(columns: c, values: SQLiteSession.values(row))
    }
}
