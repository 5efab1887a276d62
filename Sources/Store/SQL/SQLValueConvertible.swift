import Foundation

/// A Swift value the store binds as a statement argument.
public protocol SQLEncodable {
    var sqlValue: SQLValue { get }
}

/// A Swift value the store reads from a column. `init(sqlValue:)` is nil when the column holds
/// NULL or a value of another kind.
public protocol SQLDecodable {
    init?(sqlValue: SQLValue)
}

extension String: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .text(self) }
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .text(let s): self = s
        case .blob(let d): self = String(decoding: d, as: UTF8.self)
        case .integer(let i): self = String(i)
        case .real(let r): self = String(r)
        case .null: return nil
        }
    }
}

extension Int64: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(self) }
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .integer(let i): self = i
        case .real(let r): guard let i = Int64(exactly: r.rounded(.towardZero)) else { return nil }; self = i
        case .text(let s): guard let i = Int64(s) else { return nil }; self = i
        default: return nil
        }
    }
}

extension Int: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
    public init?(sqlValue: SQLValue) {
        guard let i = Int64(sqlValue: sqlValue) else { return nil }
        self = Int(i)
    }
}

extension Double: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .real(self) }
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .real(let r): self = r
        case .integer(let i): self = Double(i)
        case .text(let s): guard let r = Double(s) else { return nil }; self = r
        default: return nil
        }
    }
}

/// Stored as 0 or 1 (SQLite has no boolean; the PostgreSQL schema uses integers too).
extension Bool: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    public init?(sqlValue: SQLValue) {
        guard let i = Int64(sqlValue: sqlValue) else { return nil }
        self = i != 0
    }
}

extension Data: SQLEncodable, SQLDecodable {
    public var sqlValue: SQLValue { .blob(self) }
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .blob(let d): self = d
        case .text(let s): self = Data(s.utf8)
        default: return nil
        }
    }
}
