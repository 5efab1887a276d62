import ClaimGateCore
import Foundation

/// How a write settles a pending change in its own transaction: the change moves from `pending`
/// to `state` (only from `pending`: a change is approved at most once) and `event` is recorded
/// before the write's own entry.
public struct ChangeSettlement: Sendable {
    public var id: PendingChangeID
    public var state: PendingChangeState
    public var event: TransferEvent

    public init(id: PendingChangeID, state: PendingChangeState, event: TransferEvent) {
        self.id = id; self.state = state; self.event = event
    }
}

/// Pending changes (four eyes): what an operator proposed, waiting for a second operator.
extension GatewayStore {

    /// Stores a new pending change and records `event` (`change-proposed`), in one transaction.
    public func insertPendingChange(_ c: PendingChange, event: TransferEvent) throws {
        try commits.write { db in
            try db.execute(sql: """
                INSERT INTO pending_change(id, action, partner_id, target, summary, proposed_by, proposer, created_at, expires_at,
                                           state, settled_by, settled_at, payload)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)
                """, arguments: [c.id.rawValue, c.action.rawValue, c.partner?.rawValue, c.target, c.summary, c.proposedBy,
                                 c.proposer?.rawValue, StoredDate.text(c.created), StoredDate.text(c.expires), c.state.rawValue,
                                 c.payload])
            try Self.insert(event, db)
        }
    }

    /// The pending change with this id (in any state); nil when there is none.
    public func pendingChange(_ id: PendingChangeID) throws -> PendingChange? {
        try db.read { try Self.fetchChanges($0, where: "id = ?", [id.rawValue]).first }
    }

    /// Every pending change, oldest first; with `onlyPending`, those still stored as pending
    /// (expired ones among them: see `PendingChange.state(at:)`).
    public func pendingChanges(onlyPending: Bool = false) throws -> [PendingChange] {
        try db.read { try Self.fetchChanges($0, where: onlyPending ? "state = 'pending'" : "TRUE", []) }
    }

    /// Settles a pending change without anything else (withdrawn, expired), with its entry.
    /// - Throws: `change-not-pending` when it was settled already.
    public func settlePendingChange(_ s: ChangeSettlement) throws {
        try commits.write { db in try Self.settle(s, db) }
    }

    /// Moves the change from `pending` to the settlement's state and records its entry, inside
    /// the caller's transaction.
    static func settle(_ s: ChangeSettlement, _ db: any SQLSession) throws {
        guard let state = try String.fetchOne(db, sql: "SELECT state FROM pending_change WHERE id = ?", arguments: [s.id.rawValue]) else {
            throw ClaimGateError(.unknownChange, "There is no pending change \(s.id): see `claimgate pending`.")
        }
        guard state == PendingChangeState.pending.rawValue else {
            throw ClaimGateError(.changeNotPending, "Change \(s.id) was \(state) already: see `claimgate pending`.")
        }
        try db.execute(sql: "UPDATE pending_change SET state = ?, settled_by = ?, settled_at = ? WHERE id = ?",
                       arguments: [s.state.rawValue, s.event.actor.description, StoredDate.text(s.event.time), s.id.rawValue])
        try insert(s.event, db)
    }

    private static func fetchChanges(_ db: any SQLSession, where clause: String, _ args: [any SQLEncodable]) throws -> [PendingChange] {
        try SQLRow.fetchAll(db, sql: "SELECT * FROM pending_change WHERE \(clause) ORDER BY created_at, id",
                         arguments: SQLArguments(args)).map { row in
            let id: String = row["id"]
            guard let cid = try? PendingChangeID(id), let action = OperatorAction(rawValue: row["action"]),
                  let state = PendingChangeState(rawValue: row["state"]) else {
                throw ClaimGateError(.io, "The gateway database holds a malformed pending change '\(EventReason.bounded(String(id.prefix(40))))': restore it from a backup.")
            }
            let partner: String? = row["partner_id"]
            let proposer: String? = row["proposer"]
            let settledAt: String? = row["settled_at"]
            return PendingChange(id: cid, action: action, partner: try partner.map { try PartnerID(stored: $0) }, target: row["target"],
                                 summary: row["summary"], proposedBy: row["proposed_by"], proposer: try proposer.map { try OperatorID($0) },
                                 created: try StoredDate.date(row["created_at"]), expires: try StoredDate.date(row["expires_at"]),
                                 state: state, settledBy: row["settled_by"], settledAt: try settledAt.map { try StoredDate.date($0) },
                                 payload: row["payload"])
        }
    }
}
