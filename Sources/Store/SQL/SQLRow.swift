import ClaimGateCore

/// One result row, its columns read by position or by name (exact, then ignoring case).
///
/// Like a column of the wrong kind, a NULL read as a non-optional value is a programming error
/// (the schema says NOT NULL) and stops the process; optional reads give nil.
public struct SQLRow: Sendable {
    public let columns: SQLColumns
    public let values: [SQLValue]

    public init(columns: SQLColumns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ index: Int) -> SQLValue { values[index] }

    public subscript<T: SQLDecodable>(_ index: Int) -> T { Self.decode(values[index], column: columns.names[index]) }

    public subscript<T: SQLDecodable>(_ index: Int) -> T? {
        values[index] == .null ? nil : Self.decode(values[index], column: columns.names[index]) as T
    }

    public subscript<T: SQLDecodable>(_ name: String) -> T { Self.decode(value(name), column: name) }

    public subscript<T: SQLDecodable>(_ name: String) -> T? {
        let v = value(name)
        return v == .null ? nil : Self.decode(v, column: name) as T
    }

    /// The value of column `name` (NULL when the row has no such column).
    public func value(_ name: String) -> SQLValue {
        guard let i = columns.index(of: name) else { return .null }
        return values[i]
    }


    private static func decode<T: SQLDecodable>(_ v: SQLValue, column: String) -> T {
        guard let t = T(sqlValue: v) else {
            fatalError("column \(column): cannot read \(v == .null ? "NULL" : "a value of another kind") as \(T.self)")
        }
        return t
    }
}
