import ClaimGateCore
import Foundation

/// Leases of singleton jobs, for several nodes on one database: table `job_lease` (migration
/// `v17-job-lease`, PostgreSQL step `pg2-job-lease`), one row per job. Writes are serialised (one
/// SQLite writer; on PostgreSQL every write transaction locks the audit chain's head first), so
/// reading a lease and changing it in one write cannot race another node.
extension GatewayStore {
    /// Takes or renews `job`'s lease for `holder` until `now + duration`: when nobody holds it,
    /// when `holder` does, or when the holder's lease ran out (then `fence` grows by one).
    /// - Returns: the lease now held, or nil when another node holds it.
    public func takeLease(_ job: String, holder: String, now: Date, duration: TimeInterval) throws -> JobLease? {
        // As stored (milliseconds), so the lease returned is the one `leases()` reads back.
        let untilText = StoredDate.text(now.addingTimeInterval(duration))
        let until = try StoredDate.date(untilText)
        return try commits.write { db in
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT holder, fence, expires_at FROM job_lease WHERE job = ?",
                                                arguments: [job]) else {
                try db.execute(sql: "INSERT INTO job_lease(job, holder, fence, expires_at) VALUES (?, ?, 1, ?)",
                               arguments: [job, holder, untilText])
                return JobLease(job: job, holder: holder, fence: 1, expires: until)
            }
            let current: String = row["holder"], fence: Int64 = row["fence"]
            if current == holder {
                try db.execute(sql: "UPDATE job_lease SET expires_at = ? WHERE job = ?", arguments: [untilText, job])
                return JobLease(job: job, holder: holder, fence: fence, expires: until)
            }
            guard try StoredDate.date(row["expires_at"]) <= now else { return nil }
            try db.execute(sql: "UPDATE job_lease SET holder = ?, fence = ?, expires_at = ? WHERE job = ?",
                           arguments: [holder, fence + 1, untilText, job])
            return JobLease(job: job, holder: holder, fence: fence + 1, expires: until)
        }
    }

    /// Gives `job`'s lease up at once (a node shutting down), if `holder` holds it.
    public func releaseLease(_ job: String, holder: String) throws {
        try commits.write { db in
            try db.execute(sql: "UPDATE job_lease SET expires_at = ? WHERE job = ? AND holder = ?",
                           arguments: [StoredDate.text(Date(timeIntervalSince1970: 0)), job, holder])
        }
    }

    /// Every job's lease as recorded (expired ones included), by job.
    public func leases() throws -> [JobLease] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT job, holder, fence, expires_at FROM job_lease ORDER BY job").map {
                JobLease(job: $0["job"], holder: $0["holder"], fence: $0["fence"], expires: try StoredDate.date($0["expires_at"]))
            }
        }
    }

    /// Throws `LeaseLost` unless `lease.holder` still holds `lease.job` with `lease.fence`.
    static func requireLease(_ lease: JobLease, _ db: any SQLSession) throws {
        let fence = try Int64.fetchOne(db, sql: "SELECT fence FROM job_lease WHERE job = ? AND holder = ?",
                                       arguments: [lease.job, lease.holder])
        guard fence == lease.fence else { throw LeaseLost(job: lease.job, fence: lease.fence) }
    }
}
