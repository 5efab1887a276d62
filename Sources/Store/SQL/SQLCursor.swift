/// Rows read one at a time; valid only inside the read that made it.
public protocol SQLCursor: AnyObject {
    func next() throws -> SQLRow?
}
