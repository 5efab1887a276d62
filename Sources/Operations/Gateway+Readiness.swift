import ClaimGateCore
import Foundation
import Store

extension Gateway {
    /// Whether the gateway can serve partners now: its database, and with it the audit trail,
    /// takes a write (`GatewayStore.checkWritable`: a write transaction begun and rolled back,
    /// nothing written). What the admin listener's `/readyz` asks, on every request.
    /// - Throws: `ClaimGateError` `audit-unavailable` when it cannot.
    public func checkReady() throws {
        try store.checkWritable()
    }

    /// `checkReady`, then what `/readyz` says beyond `ready`: the database (backend, schema,
    /// replicas' lag) and which node holds each singleton job's lease, one line each.
    public func readiness() throws -> String {
        try checkReady()
        let d = try store.databaseStatus()
        var lines = ["database: \(d.backend) \(d.location) schema=\(d.schema)"
                     + (d.replicationLagSeconds.map { String(format: " replication_lag=%.3fs", $0) } ?? "")]
        let now = clock.now
        for l in try store.leases() {
            let who = l.expires <= now ? "none" : (l.holder == Self.nodeID ? "this-node" : l.holder)
            lines.append("lease \(l.job): \(who) fence=\(l.fence) until=\(Timestamp.format(l.expires))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
