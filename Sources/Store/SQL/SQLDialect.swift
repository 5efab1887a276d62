/// The few SQL fragments that differ between SQLite and PostgreSQL. Everything else the store
/// writes is SQL both accept (`?` placeholders, `COUNT(*) FILTER (WHERE …)`, `IS [NOT] DISTINCT
/// FROM`, `ON CONFLICT … DO UPDATE`, `TRUE`/`FALSE`).
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgresql

    /// Whether `haystack` contains `needle`, ignoring case (both SQL expressions).
    public func containsIgnoringCase(_ haystack: String, _ needle: String) -> String {
        switch self {
        case .sqlite: "instr(lower(\(haystack)), lower(\(needle))) > 0"
        case .postgresql: "strpos(lower(\(haystack)), lower(\(needle))) > 0"
        }
    }

    /// The number of elements of the JSON array held as text in `expression`.
    public func jsonArrayLength(_ expression: String) -> String {
        switch self {
        case .sqlite: "json_array_length(\(expression))"
        case .postgresql: "json_array_length(CAST(\(expression) AS json))"
        }
    }

    /// The distinct non-null values of `expression` in a group, joined with commas.
    public func groupConcatDistinct(_ expression: String) -> String {
        switch self {
        case .sqlite: "group_concat(DISTINCT \(expression))"
        case .postgresql: "string_agg(DISTINCT \(expression), ',')"
        }
    }

    /// `column` as an operand SQLite's planner will not pick an index for (`+column`): where a
    /// scan of the period's rows by time is cheaper than the column's index. PostgreSQL's
    /// planner judges by statistics, and the column is left as it is.
    public func unindexed(_ column: String) -> String {
        switch self {
        case .sqlite: "+\(column)"
        case .postgresql: column
        }
    }
}
