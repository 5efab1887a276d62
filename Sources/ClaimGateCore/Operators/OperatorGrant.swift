/// A right given to an operator on top of its roles. A closed set.
public enum OperatorGrant: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    /// `inbox export` (copying inbound documents out of the gateway), for a claims operator.
    case inboxExport = "inbox-export"

    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
