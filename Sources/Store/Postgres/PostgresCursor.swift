/// Rows of a server-side cursor, fetched a batch at a time, so a pass over millions of audit
/// entries holds one batch in memory.
final class PostgresCursor: SQLCursor {
    let session: PostgresSession
    let name: String
    private var batch: [SQLRow] = []
    private var position = 0
    private var done = false
    static let batchSize = 500

    init(session: PostgresSession, name: String) {
        self.session = session
        self.name = name
    }

    func next() throws -> SQLRow? {
        if position == batch.count {
            guard !done else { return nil }
            batch = try session.rows("FETCH \(Self.batchSize) FROM \(name)", [], cached: false)
            position = 0
            if batch.count < Self.batchSize {
                done = true
                try session.execute("CLOSE \(name)", [], cached: false)
            }
            if batch.isEmpty { return nil }
        }
        position += 1
        return batch[position - 1]
    }
}
