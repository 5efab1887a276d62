import ClaimGateCore
import Foundation

/// What `/metrics` reads beyond the event totals: transfers per partner, and the reason texts of
/// refusals whose code column holds no code.
extension GatewayStore {
    /// Transfers by one partner, one action and one outcome.
    public struct PartnerTransferTotal: Sendable, Equatable {
        public let partner: String
        public let action: String
        public let outcome: String
        public let count: Int
        /// Bytes moved: the sum of the entries' bytes for `success` and `partial` (a `started`
        /// entry's bytes are the offset a resumed download starts at, not bytes sent).
        public let bytes: Int64
    }

    /// Downloads, uploads and pushes (`delivery`) by partner, action and outcome, over the whole
    /// audit trail: monotonic counters, as Prometheus expects.
    public func partnerTransferTotals() throws -> [PartnerTransferTotal] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT partner_id, action, outcome, COUNT(*) AS n,
                       COALESCE(SUM(CASE WHEN outcome IN ('success', 'partial') THEN bytes END), 0) AS b
                FROM event
                WHERE partner_id IS NOT NULL AND action IN ('download', 'upload', 'delivery')
                GROUP BY partner_id, action, outcome
                """).map { PartnerTransferTotal(partner: $0["partner_id"], action: $0["action"], outcome: $0["outcome"],
                                                count: $0["n"], bytes: $0["b"]) }
        }
    }

    /// Refusals whose `reason_code` column is `code` (`nil`: empty, as a gateway older than the
    /// reason columns writes them on a migrated database), counted by action and reason text, so
    /// the caller can read the code from the text (`EventReason.parse`).
    public func refusalReasons(codeColumn code: String?) throws -> [(action: String, text: String?, count: Int)] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT action, reason, COUNT(*) AS n FROM event
                WHERE outcome = 'refused' AND reason_code IS NOT DISTINCT FROM ?
                GROUP BY action, reason
                """, arguments: [code]).map { ($0["action"], $0["reason"], $0["n"]) }
        }
    }
}
