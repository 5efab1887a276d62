import ClaimGateCore
import Foundation

/// Read-only queries behind `claimgate audit report` and `audit impact` (docs/audit-reports.md).
///
/// Everything here aggregates in SQL or streams rows through a cursor: the event log can hold
/// millions of rows, and no query loads it whole. Times are audit-format text
/// (`2026-11-22T01:02:03.456Z`, see `AuditTime`), which sorts as time; periods are half-open,
/// `[since, until)`. Nothing here writes.
extension GatewayStore {
    // MARK: Access review

    /// One partner's event counts in a period, for one purpose (`nil` for the events that have
    /// none: logins, listings, uploads, most refusals).
    public struct PartnerActivity: Sendable, Equatable {
        public var partnerID: String
        public var purpose: String?
        /// `seal` (to a file) and `queue` (into the outbox) events that succeeded.
        public var bundlesSealed: Int
        /// Distinct claim ids among those seals.
        public var claimsSealed: Int
        /// Documents in those seals (the digests each seal event lists).
        public var documentsSealed: Int
        /// Push deliveries that succeeded.
        public var deliveries: Int
        /// Push delivery attempts that failed or were refused.
        public var deliveryFailures: Int
        /// `download` events with outcome `success` (the whole file was served).
        public var downloadsComplete: Int
        /// `download` events with outcome `partial`.
        public var downloadsPartial: Int
        /// Bytes served by complete and partial downloads.
        public var downloadBytes: Int64
        /// Distinct bundles downloaded completely.
        public var bundlesDownloaded: Int
        /// `receipt` events: accepted (`success`) and refused (a wrong digest).
        public var receipts: Int
        public var receiptsRefused: Int
        /// Successful SFTP logins (HTTPS authenticates every request and records no login).
        public var logins: Int
        public var listings: Int
        /// Uploads received, and the inbound reports accepted or quarantined from them.
        public var uploads: Int
        public var inboundAccepted: Int
        public var inboundQuarantined: Int
    }

    /// Event counts per partner and purpose for events timed in `[since, until)`: one pass over
    /// the log (or over one partner's events), aggregated in SQL.
    /// - Parameters:
    ///   - since: audit-format time, inclusive.
    ///   - until: audit-format time, exclusive.
    ///   - partner: only this partner's events.
    public func partnerActivity(since: String, until: String, partner: String? = nil) throws -> [PartnerActivity] {
        let (filter, args) = Self.period(since, until, partner: partner)
        return try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT partner_id, purpose,
                  COUNT(*) FILTER (WHERE sealed) AS sealed,
                  COUNT(DISTINCT CASE WHEN sealed THEN claim_id END) AS claims,
                  COALESCE(SUM(CASE WHEN sealed THEN \(db.dialect.jsonArrayLength("document_digests")) ELSE 0 END), 0) AS documents,
                  COUNT(*) FILTER (WHERE action = 'delivery' AND outcome = 'success') AS delivered,
                  COUNT(*) FILTER (WHERE action = 'delivery' AND outcome IN ('failed', 'refused')) AS delivery_failures,
                  COUNT(*) FILTER (WHERE action = 'download' AND outcome = 'success') AS downloads_complete,
                  COUNT(*) FILTER (WHERE action = 'download' AND outcome = 'partial') AS downloads_partial,
                  SUM(CASE WHEN action = 'download' AND outcome IN ('success', 'partial') THEN COALESCE(bytes, 0) ELSE 0 END) AS download_bytes,
                  COUNT(DISTINCT CASE WHEN action = 'download' AND outcome = 'success' THEN bundle_id END) AS bundles_downloaded,
                  COUNT(*) FILTER (WHERE action = 'receipt' AND outcome = 'success') AS receipts,
                  COUNT(*) FILTER (WHERE action = 'receipt' AND outcome = 'refused') AS receipts_refused,
                  COUNT(*) FILTER (WHERE action = 'login' AND outcome = 'success') AS logins,
                  COUNT(*) FILTER (WHERE action = 'listing' AND outcome = 'success') AS listings,
                  COUNT(*) FILTER (WHERE action = 'upload' AND outcome = 'success') AS uploads,
                  COUNT(*) FILTER (WHERE action = 'inbound-accepted') AS inbound_accepted,
                  COUNT(*) FILTER (WHERE action = 'inbound-quarantined') AS inbound_quarantined
                FROM (SELECT *, (action IN ('seal', 'queue') AND outcome = 'success') AS sealed FROM event
                      WHERE \(filter) AND \(db.dialect.unindexed("partner_id")) IS NOT NULL) AS e
                GROUP BY partner_id, purpose
                ORDER BY partner_id, purpose NULLS FIRST
                """, arguments: args).map { r in
                PartnerActivity(partnerID: r["partner_id"], purpose: r["purpose"], bundlesSealed: r["sealed"], claimsSealed: r["claims"],
                                documentsSealed: r["documents"], deliveries: r["delivered"], deliveryFailures: r["delivery_failures"],
                                downloadsComplete: r["downloads_complete"], downloadsPartial: r["downloads_partial"],
                                downloadBytes: r["download_bytes"], bundlesDownloaded: r["bundles_downloaded"],
                                receipts: r["receipts"], receiptsRefused: r["receipts_refused"], logins: r["logins"],
                                listings: r["listings"], uploads: r["uploads"], inboundAccepted: r["inbound_accepted"],
                                inboundQuarantined: r["inbound_quarantined"])
            }
        }
    }

    /// Refused events of one kind in a period.
    public struct RefusalCount: Sendable, Equatable {
        /// The partner the event names; nil for refusals before a partner was identified
        /// (an HTTPS client certificate no agreement accepts, an SFTP login refused).
        public var partnerID: String?
        /// For an SFTP `login-refused` without a partner: the user name the client tried (the
        /// event's subject), when it is an onboarded partner's id; other names are not kept, so
        /// a scan of user names stays one row.
        public var claimedUser: String?
        public var action: String
        /// The reason's code (the `reason_code` column: `bundle-unavailable`, `unknown-key`,
        /// `digest-mismatch`…); empty when there is no reason.
        public var reasonCode: String
        /// Who acted: `partner`, `operator`, `local` (the shell), `admin` (the shell, recorded before
        /// operators) or `system`.
        public var actorKind: String
        public var count: Int
    }

    /// Refused events (outcome `refused`) in `[since, until)`, counted by partner, action and
    /// reason code, in one pass aggregated in SQL.
    /// - Parameter partner: only this partner's refusals, and SFTP login refusals for its user name.
    public func refusalCounts(since: String, until: String, partner: String? = nil) throws -> [RefusalCount] {
        var args: [any SQLEncodable] = [since, until]
        var who = ""
        if let partner {
            who = "AND (r.partner_id = ? OR (r.partner_id IS NULL AND r.action = 'login-refused' AND r.subject = ?))"
            args += [partner, partner]
        }
        return try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT partner_id, claimed_user, action, code, actor_kind, COUNT(*) AS n FROM (
                  SELECT r.partner_id, r.action,
                    CASE WHEN r.partner_id IS NULL AND r.action = 'login-refused'
                         THEN (SELECT p.id FROM partner p WHERE p.id = r.subject) END AS claimed_user,
                    COALESCE(r.reason_code, '') AS code,
                    CASE WHEN r.actor LIKE 'partner:%' THEN 'partner' WHEN r.actor LIKE 'admin:%' THEN 'admin'
                         WHEN r.actor LIKE 'local:%' THEN 'local' WHEN r.actor LIKE 'operator:%' THEN 'operator' ELSE 'system' END AS actor_kind
                  FROM event r WHERE r.time >= ? AND r.time < ? AND r.outcome = 'refused' \(who)
                ) AS refusal
                GROUP BY partner_id, claimed_user, action, code, actor_kind
                ORDER BY partner_id NULLS FIRST, claimed_user NULLS FIRST, action, code, actor_kind
                """, arguments: SQLArguments(args)).map { r in
                RefusalCount(partnerID: r["partner_id"], claimedUser: r["claimed_user"], action: r["action"], reasonCode: r["code"],
                             actorKind: r["actor_kind"], count: r["n"])
            }
        }
    }

    /// Refused requests of one partner for one bundle (or name) it could not have: `access-refused`
    /// events with reason code `bundle-unavailable` and what it asked for as their subject,
    /// grouped and classified by the bundle record that reference names.
    public struct UnavailableBundleRequests: Sendable, Equatable {
        /// Why the bundle was not the partner's to have, judged from its record now.
        public enum Kind: String, Sendable, CaseIterable {
            /// Sealed for another partner.
            case foreign
            /// The partner's own, asked for at or after its expiry.
            case expired
            /// No recorded bundle has that id.
            case unknown
            /// The partner's own and unexpired, but not in its outbox (sealed to a file,
            /// recalled, purged) or asked for by another spelling of its id.
            case unavailable
        }
        public var partnerID: String
        public var kind: Kind
        /// What the partner asked for, as recorded: a bundle id (HTTPS) or `<bundle-id>.p7m`
        /// (SFTP), or any other name it tried.
        public var reference: String
        /// The recorded bundle whose id the reference starts with (compared in lowercase).
        public var bundleID: String?
        public var bundlePartnerID: String?
        public var bundleClaimID: String?
        public var bundlePurpose: String?
        /// The bundle's expiry (audit-format time) and its state now.
        public var bundleExpires: String?
        public var bundleState: String?
        public var count: Int
        public var firstTime: String
        public var lastTime: String
        public var firstSequence: Int64
        /// Distinct transports and client addresses, sorted.
        public var transports: [String]
        public var clientAddresses: [String]
    }

    /// Calls `body` with refused requests for unavailable bundles in `[since, until)`, grouped
    /// by partner, kind and reference in SQL, ordered by partner, kind and first request:
    /// streaming, one pass over the period.
    public func forEachUnavailableBundleRequests(since: String, until: String, partner: String? = nil,
                                                 _ body: (UnavailableBundleRequests) throws -> Void) throws {
        let (filter, args) = Self.period(since, until, partner: partner, table: "e")

        try db.read { db in
            let rows = try SQLRow.fetchCursor(db, sql: """
                SELECT e.partner_id,
                       CASE WHEN b.id IS NULL THEN 'unknown' WHEN b.partner_id != e.partner_id THEN 'foreign'
                            WHEN e.time >= b.expires_at THEN 'expired' ELSE 'unavailable' END AS kind,
                       e.subject AS reference,
                       MAX(b.id) AS bundle_id, MAX(b.partner_id) AS bundle_partner, MAX(b.claim_id) AS bundle_claim,
                       MAX(b.purpose) AS bundle_purpose, MAX(b.expires_at) AS expires_at, MAX(b.state) AS state,
                       COUNT(*) AS n, MIN(e.time) AS first_time, MAX(e.time) AS last_time,
                       MIN(e.seq) AS first_seq, \(db.dialect.groupConcatDistinct("e.transport")) AS transports,
                       \(db.dialect.groupConcatDistinct("e.client_address")) AS addresses
                FROM event e LEFT JOIN bundle b ON b.id = lower(substr(e.subject, 1, 36))
                WHERE \(filter) AND e.action = 'access-refused' AND \(db.dialect.unindexed("e.partner_id")) IS NOT NULL
                  AND e.reason_code = ? AND e.subject IS NOT NULL
                GROUP BY e.partner_id, kind, reference
                ORDER BY e.partner_id, kind, first_time, reference
                """, arguments: args + [Refusal.Reason.bundleUnavailable.code])
            while let r = try rows.next() {
                func list(_ column: String) -> [String] {
                    (r[column] as String? ?? "").split(separator: ",").map(String.init).sorted()
                }
                try body(UnavailableBundleRequests(
                    partnerID: r["partner_id"], kind: UnavailableBundleRequests.Kind(rawValue: r["kind"]) ?? .unknown,
                    reference: r["reference"], bundleID: r["bundle_id"], bundlePartnerID: r["bundle_partner"],
                    bundleClaimID: r["bundle_claim"], bundlePurpose: r["bundle_purpose"], bundleExpires: r["expires_at"],
                    bundleState: r["state"], count: r["n"], firstTime: r["first_time"], lastTime: r["last_time"],
                    firstSequence: r["first_seq"], transports: list("transports"), clientAddresses: list("addresses")))
            }
        }
    }

    /// A bundle a partner downloaded completely in a period without a successful receipt from
    /// that partner recorded before the period's end.
    public struct UnreceiptedDownload: Sendable, Equatable {
        public var partnerID: String
        public var bundleID: String
        public var claimID: String?
        public var purpose: String?
        /// The first and last complete download in the period (audit-format time).
        public var firstDownload: String
        public var lastDownload: String
        /// The first complete download's sequence number.
        public var firstSequence: Int64
        /// Complete downloads in the period.
        public var downloads: Int
        /// Transports of those downloads, sorted.
        public var transports: [String]
    }

    /// Calls `body` with every bundle downloaded completely in `[since, until)` that has no
    /// `receipt`/`success` event by the same partner timed before `until` (earlier receipts
    /// count), ordered by first download. Streaming; the receipt check uses the bundle index.
    public func forEachUnreceiptedDownload(since: String, until: String, partner: String? = nil,
                                           _ body: (UnreceiptedDownload) throws -> Void) throws {
        let (filter, args) = Self.period(since, until, partner: partner, table: "e")
        try db.read { db in
            let rows = try SQLRow.fetchCursor(db, sql: """
                SELECT * FROM (
                  SELECT e.partner_id, e.bundle_id, MAX(e.claim_id) AS claim_id, MAX(e.purpose) AS purpose,
                         MIN(e.time) AS first_time, MAX(e.time) AS last_time, MIN(e.seq) AS first_seq, COUNT(*) AS n,
                         \(db.dialect.groupConcatDistinct("e.transport")) AS transports
                  FROM event e
                  WHERE \(filter) AND e.action = 'download' AND e.outcome = 'success'
                    AND \(db.dialect.unindexed("e.partner_id")) IS NOT NULL AND \(db.dialect.unindexed("e.bundle_id")) IS NOT NULL
                  GROUP BY e.partner_id, e.bundle_id
                ) AS d
                -- Once per downloaded bundle, through the bundle index.
                WHERE NOT EXISTS (SELECT 1 FROM event r WHERE r.bundle_id = d.bundle_id AND r.partner_id = d.partner_id
                                  AND r.action = 'receipt' AND r.outcome = 'success' AND r.time < ?)
                ORDER BY first_time, bundle_id
                """, arguments: args + [until])
            while let r = try rows.next() {
                let transports = (r["transports"] as String? ?? "").split(separator: ",").map(String.init).sorted()
                try body(UnreceiptedDownload(partnerID: r["partner_id"], bundleID: r["bundle_id"], claimID: r["claim_id"],
                                             purpose: r["purpose"], firstDownload: r["first_time"], lastDownload: r["last_time"],
                                             firstSequence: r["first_seq"], downloads: r["n"], transports: transports))
            }
        }
    }

    // MARK: Breach impact

    /// One event that put a bundle within a partner's reach: sealed for it (`seal`, `queue`),
    /// pushed to it (`delivery` success) or downloaded by it (`download` success or partial).
    public struct BundleExposure: Sendable, Equatable {
        public var sequence: Int64
        public var time: String
        public var action: String
        public var outcome: String
        public var partnerID: String
        public var bundleID: String
        /// From the event, else from the bundle record.
        public var claimID: String?
        public var purpose: String?
        public var transport: String
        public var clientAddress: String?
        public var bytes: Int64?
        /// On the first row of a bundle that has no record (so no manifest): the document digests
        /// its seal event lists, else this event's. Empty otherwise.
        public var documentDigests: [String]
        /// Whether this is the bundle's first row in the stream; only that row carries the
        /// bundle's record.
        public var firstOfBundle: Bool
        /// The manifest as sealed, its creation and expiry (audit-format time): on the first row
        /// of each bundle only, and nil when the bundle has no record.
        public var manifestJSON: Data?
        public var bundleCreated: String?
        public var bundleExpires: String?
    }

    /// Calls `body` with every exposure of a partner's or a claim's bundles, grouped by bundle
    /// (bundles in the order of their first exposure, events in sequence order within each).
    /// Streaming: memory does not grow with the log.
    /// - Parameters:
    ///   - partner: only bundles sealed for, pushed to or downloaded by this partner.
    ///   - claim: only bundles of this claim (by the bundle records, so every event of those
    ///     bundles counts even if it does not name the claim).
    ///   - since: only events at or after this audit-format time.
    public func forEachBundleExposure(partner: String?, claim: String?, since: String?,
                                      _ body: (BundleExposure) throws -> Void) throws {
        var conditions = ["""
            ((e.action IN ('seal', 'queue', 'delivery') AND e.outcome = 'success')
             OR (e.action = 'download' AND e.outcome IN ('success', 'partial')))
            """, "\(db.dialect.unindexed("e.bundle_id")) IS NOT NULL", "\(db.dialect.unindexed("e.partner_id")) IS NOT NULL"]
        var args: [any SQLEncodable] = []
        if let partner { conditions.append("e.partner_id = ?"); args.append(partner) }
        if let claim { conditions.append("e.bundle_id IN (SELECT id FROM bundle WHERE claim_id = ?)"); args.append(claim) }
        if let since { conditions.append("e.time >= ?"); args.append(since) }
        try db.read { db in
            let rows = try SQLRow.fetchCursor(db, sql: """
                WITH hits AS MATERIALIZED (
                  SELECT e.seq, e.time, e.action, e.outcome, e.partner_id, e.claim_id, e.bundle_id, e.purpose, e.transport,
                         e.client_address, e.bytes, e.document_digests
                  FROM event e WHERE \(conditions.joined(separator: " AND "))
                ), firsts AS (SELECT bundle_id, MIN(seq) AS first_seq FROM hits GROUP BY bundle_id)
                SELECT h.*, f.first_seq,
                       COALESCE(h.claim_id, b.claim_id) AS claim, COALESCE(h.purpose, b.purpose) AS bundle_purpose,
                       CASE WHEN h.seq = f.first_seq THEN b.manifest_json END AS manifest_json,
                       CASE WHEN h.seq = f.first_seq THEN b.created_at END AS created_at,
                       CASE WHEN h.seq = f.first_seq THEN b.expires_at END AS expires_at,
                       CASE WHEN h.seq = f.first_seq AND b.id IS NULL THEN COALESCE(
                         (SELECT s.document_digests FROM event s WHERE s.bundle_id = h.bundle_id AND s.action IN ('seal', 'queue')
                          AND s.outcome = 'success' ORDER BY s.seq LIMIT 1), h.document_digests) END AS digests
                FROM hits h JOIN firsts f ON f.bundle_id = h.bundle_id LEFT JOIN bundle b ON b.id = h.bundle_id
                ORDER BY f.first_seq, h.seq
                """, arguments: SQLArguments(args))
            while let r = try rows.next() {
                let digests = (r["digests"] as String?).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
                let seq: Int64 = r["seq"]
                try body(BundleExposure(
                    sequence: seq, time: r["time"], action: r["action"], outcome: r["outcome"], partnerID: r["partner_id"],
                    bundleID: r["bundle_id"], claimID: r["claim"], purpose: r["bundle_purpose"], transport: r["transport"],
                    clientAddress: r["client_address"], bytes: r["bytes"], documentDigests: digests,
                    firstOfBundle: seq == r["first_seq"], manifestJSON: r["manifest_json"],
                    bundleCreated: r["created_at"], bundleExpires: r["expires_at"]))
            }
        }
    }

    // MARK: Operators and local use


    /// The condition that selects entries recorded by an operator, written exactly as the partial
    /// index `event_operator_actor` is (SQLite uses a partial index only for a query that repeats
    /// its terms): every actor text that starts `operator:` sorts in `[operator:, operator;)`.
    static let operatorActorTerms = "actor >= 'operator:' AND actor < 'operator;'"

    /// Entries of one operator actor (name and certificate) of one action, outcome and reason
    /// code in a period.
    public struct OperatorEntryCount: Sendable, Equatable {
        /// The actor as recorded: `operator:<name>;sha256=<fingerprint>`.
        public var actor: String
        public var action: String
        public var outcome: String
        /// The `reason_code` column; empty when the entry has no reason.
        public var reasonCode: String
        /// For `operator-refused`: the action refused, which such an entry records as its
        /// subject (`partner-suspend`…). Nil for other entries.
        public var refusedAction: String?
        public var count: Int
        public var firstTime: String
        public var lastTime: String
        public var firstSequence: Int64
        public var lastSequence: Int64
    }

    /// Entries recorded by operators in `[since, until)`, counted by actor text, action, outcome
    /// and reason code in SQL (through the partial index `event_operator_actor`).
    /// - Parameter partner: only entries that name this partner.
    public func operatorEntryCounts(since: String, until: String, partner: String? = nil) throws -> [OperatorEntryCount] {
        var args: [any SQLEncodable] = [since, until]
        var who = ""
        if let partner { who = "AND partner_id = ?"; args.append(partner) }
        return try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT actor, action, outcome, COALESCE(reason_code, '') AS code,
                       CASE WHEN action = 'operator-refused' THEN subject END AS refused,
                       COUNT(*) AS n, MIN(time) AS first_time, MAX(time) AS last_time, MIN(seq) AS first_seq, MAX(seq) AS last_seq
                FROM event
                WHERE \(Self.operatorActorTerms) AND time >= ? AND time < ? \(who)
                GROUP BY actor, action, outcome, code, refused
                ORDER BY actor, action, outcome, code, refused NULLS FIRST
                """, arguments: SQLArguments(args)).map { r in
                OperatorEntryCount(actor: r["actor"], action: r["action"], outcome: r["outcome"], reasonCode: r["code"],
                                   refusedAction: r["refused"], count: r["n"], firstTime: r["first_time"], lastTime: r["last_time"],
                                   firstSequence: r["first_seq"], lastSequence: r["last_seq"])
            }
        }
    }

    /// The last successful entry of one operator actor and action before a time.
    public struct OperatorLastUse: Sendable, Equatable {
        /// The actor as recorded: `operator:<name>;sha256=<fingerprint>`.
        public var actor: String
        public var action: String
        public var time: String
        public var sequence: Int64
    }

    /// For each operator actor text and action, its last entry with outcome `success` timed
    /// before `until`, over the whole trail (through the partial index `event_operator_actor`:
    /// only operators' entries are read).
    public func operatorLastUses(before until: String) throws -> [OperatorLastUse] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT actor, action, MAX(time) AS last_time, MAX(seq) AS last_seq
                FROM event
                WHERE \(Self.operatorActorTerms) AND outcome = 'success' AND time < ?
                GROUP BY actor, action
                ORDER BY actor, action
                """, arguments: [until]).map { r in
                OperatorLastUse(actor: r["actor"], action: r["action"], time: r["last_time"], sequence: r["last_seq"])
            }
        }
    }

    /// One audit entry, as the operator sections of the review read it.
    public struct RecordedAction: Sendable, Equatable {
        public var sequence: Int64
        public var time: String
        /// As recorded (`local:uid=1000(claire)`, `admin:claire`, `security-officer`'s
        /// `operator:sam;sha256=…`).
        public var actor: String
        public var action: String
        public var outcome: String
        public var partnerID: String?
        public var bundleID: String?
        public var claimID: String?
        /// The `reason_code` and `subject` columns.
        public var reasonCode: String?
        public var subject: String?
    }

    /// Calls `body` with every entry timed in `[since, until)` whose actor is the shell:
    /// `local:uid=…` or, recorded before operators, `admin:…`; in sequence order, streaming.
    /// - Parameter partner: only entries that name this partner.
    public func forEachLocalAction(since: String, until: String, partner: String? = nil,
                                   _ body: (RecordedAction) throws -> Void) throws {
        let (filter, args) = Self.period(since, until, partner: partner)
        try db.read { db in
            let rows = try SQLRow.fetchCursor(db, sql: """
                SELECT seq, time, actor, action, outcome, partner_id, bundle_id, claim_id, reason_code, subject FROM event
                WHERE \(filter) AND ((actor >= 'local:' AND actor < 'local;') OR (actor >= 'admin:' AND actor < 'admin;'))
                ORDER BY seq
                """, arguments: args)
            while let r = try rows.next() { try body(Self.recordedAction(r)) }
        }
    }

    /// Every change to operators (entries with reason code `operator-change`: added, suspended,
    /// resumed, removed, granted, revoked) that succeeded, in sequence order, over the whole
    /// trail (through the `reason_code` index). The subject names the operator first.
    public func operatorChanges() throws -> [RecordedAction] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT seq, time, actor, action, outcome, partner_id, bundle_id, claim_id, reason_code, subject FROM event
                WHERE reason_code = 'operator-change' AND outcome = 'success'
                ORDER BY seq
                """).map(Self.recordedAction)
        }
    }

    private static func recordedAction(_ r: SQLRow) -> RecordedAction {
        RecordedAction(sequence: r["seq"], time: r["time"], actor: r["actor"], action: r["action"], outcome: r["outcome"],
                       partnerID: r["partner_id"], bundleID: r["bundle_id"], claimID: r["claim_id"],
                       reasonCode: r["reason_code"], subject: r["subject"])
    }

    // MARK: Helpers

    /// `time` in `[since, until)`, and optionally one partner, on `table`'s columns.
    private static func period(_ since: String, _ until: String, partner: String?,
                               table: String? = nil) -> (String, SQLArguments) {
        let p = table.map { $0 + "." } ?? ""
        var sql = "\(p)time >= ? AND \(p)time < ?"
        var args: [any SQLEncodable] = [since, until]
        if let partner { sql += " AND \(p)partner_id = ?"; args.append(partner) }
        return (sql, SQLArguments(args))
    }

}
