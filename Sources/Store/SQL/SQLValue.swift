import Foundation

/// One value as the store reads and writes it, whichever database holds it: the four storage
/// classes SQLite has, which PostgreSQL's `bigint`, `double precision`, `text` and `bytea` map to.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

extension SQLValue: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { self }
    public init?(sqlValue: SQLValue) { self = sqlValue }
}
