/// A statement kept prepared, to run with different arguments.
public struct SQLStatement {
    let session: any SQLSession
    let sql: String

    public func execute(arguments: SQLArguments = []) throws {
        try session.execute(sql, arguments, cached: true)
    }
}
