/// A statement's arguments, bound in order to its `?` placeholders.
public struct SQLArguments: Sendable, Equatable, ExpressibleByArrayLiteral {
    public var values: [SQLValue]

    public init(values: [SQLValue]) { self.values = values }

    /// `nil` binds NULL.
    public init(_ array: [(any SQLEncodable)?]) {
        values = array.map { $0?.sqlValue ?? .null }
    }

    public init<S: Sequence>(_ sequence: S) where S.Element: SQLEncodable {
        values = sequence.map(\.sqlValue)
    }

    public init(arrayLiteral elements: (any SQLEncodable)?...) { self.init(elements) }

    public static func + (lhs: SQLArguments, rhs: SQLArguments) -> SQLArguments { SQLArguments(values: lhs.values + rhs.values) }
    public static func += (lhs: inout SQLArguments, rhs: SQLArguments) { lhs.values += rhs.values }
}
