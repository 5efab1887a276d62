import Audit
import ClaimGateCore
import Foundation

/// When each operator last used each of its roles and grants, for the grants review of `audit
/// report`. Listings, shows and reports write no audit entry, so an operator who only reads
/// would look idle from the trail alone: `authorize` notes every allowed action here instead,
/// one row per operator, right and month (UTC), keeping the latest use. Not part of the audit
/// trail (no hash, no checkpoint): a hint for the reviewer beside the entries, which stay the
/// record of what changed.
extension GatewayStore {

    /// One right's last use before some time.
    public struct RightUse: Sendable, Hashable {
        public var operatorName: String
        public var right: String
        /// Audit-format time.
        public var time: String
        public var action: String
    }

    /// Notes that `operatorName` used `rights` for `action` at `time`, in the next transaction
    /// (nobody waits for it; `flush()` commits it). A later use replaces an earlier one of the
    /// same month; an earlier one changes nothing.
    public func noteRightsUsed(operatorName: String, rights: [String], action: String, at time: Date,
                               onFailure: @escaping @Sendable (any Error) -> Void) {
        let text = AuditTime.format(time)
        let month = String(text.prefix(7))
        commits.enqueue({ db in
            for right in rights {
                try db.execute(sql: """
                    INSERT INTO operator_right_use(operator_name, right_name, month, last_used, last_action) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(operator_name, right_name, month) DO UPDATE SET last_used = excluded.last_used,
                        last_action = excluded.last_action WHERE excluded.last_used > operator_right_use.last_used
                    """, arguments: [operatorName, right, month, text, action])
            }
        }, onFailure: onFailure)
    }

    /// For each operator and right, its last use strictly before `before` (audit-format time).
    public func rightUses(before: String) throws -> [RightUse] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT u.operator_name, u.right_name, u.last_used, u.last_action FROM operator_right_use u
                WHERE u.last_used = (SELECT MAX(v.last_used) FROM operator_right_use v
                                     WHERE v.operator_name = u.operator_name AND v.right_name = u.right_name AND v.last_used < ?)
                ORDER BY u.operator_name, u.right_name
                """, arguments: [before]).map {
                RightUse(operatorName: $0["operator_name"], right: $0["right_name"], time: $0["last_used"], action: $0["last_action"])
            }
        }
    }
}
