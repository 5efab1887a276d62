import Audit
import ClaimGateCore
import Foundation

/// Read-only queries the web console's pages show (through the operations, which authorise
/// them): the latest audit entries and the last checkpoint, each one bounded query.
extension GatewayStore {
    /// The newest `limit` audit entries, newest first.
    /// - Parameter limit: how many at most (1 to 500).
    public func latestEvents(limit: Int) throws -> [StoredEvent] {
        let limit = max(1, min(limit, 500))
        return try db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM event ORDER BY seq DESC LIMIT ?", arguments: [limit]).map {
                StoredEvent(sequence: $0["seq"], time: try StoredDate.date($0["time"]), actor: $0["actor"], action: $0["action"],
                            outcome: $0["outcome"], partnerID: $0["partner_id"], claimID: $0["claim_id"],
                            bundleID: $0["bundle_id"], purpose: $0["purpose"], reason: $0["reason"],
                            reasonCode: $0["reason_code"], subject: $0["subject"],
                            transport: $0["transport"], bytes: $0["bytes"])
            }
        }
    }

    /// The newest signed checkpoint, nil when there is none.
    public func lastAuditCheckpoint() throws -> AuditCheckpoint? {
        try db.read { db in
            try SQLRow.fetchOne(db, sql: "SELECT * FROM audit_checkpoint ORDER BY seq DESC LIMIT 1").map {
                AuditCheckpoint(sequence: $0["seq"], headHash: [UInt8]($0["head_hash"] as Data), time: $0["time"],
                                keyID: $0["key_id"], signature: [UInt8]($0["signature"] as Data))
            }
        }
    }
}
