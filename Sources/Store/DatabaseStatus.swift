/// What `doctor` and `/readyz` say about the database.
public struct DatabaseStatus: Sendable, Equatable, Codable {
    /// `sqlite` or `postgresql`.
    public var backend: String
    /// The file's path, or the URL without password.
    public var location: String
    /// The last migration (SQLite) or schema step (PostgreSQL) applied.
    public var schema: String
    /// PostgreSQL: the slowest replica's replay lag in seconds; nil without replicas.
    public var replicationLagSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case backend, location, schema, replicationLagSeconds = "replication_lag_seconds"
    }
}
