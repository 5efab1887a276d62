/// A result's column names, shared by its rows.
public final class SQLColumns: Sendable {
    public let names: [String]
    private let lookup: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        var l: [String: Int] = [:]
        for (i, n) in names.enumerated() where l[n] == nil { l[n] = i }
        for (i, n) in names.enumerated() where l[n.lowercased()] == nil { l[n.lowercased()] = i }
        lookup = l
    }

    public func index(of name: String) -> Int? { lookup[name] ?? lookup[name.lowercased()] }
}
