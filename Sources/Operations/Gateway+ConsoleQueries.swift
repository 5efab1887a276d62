import Audit
import ClaimGateCore
import Foundation
import Store

/// The last signed checkpoint of the audit trail, as the console shows it.
public struct AuditCheckpointSummary: Sendable, Equatable {
    /// The entry it seals.
    public let sequence: Int64
    /// When it was signed.
    public let time: Date
}

/// What the web console needs besides the operations the command line calls: which pages to
/// offer an operator, the latest audit entries and the last checkpoint. Reads only, each
/// authorised as the operations authorise theirs.
extension Gateway {
    /// The actions `principal`'s roles and grants allow now, to decide which pages the console
    /// links to: an operator that is unknown or not active has none; the shell and the gateway's
    /// own jobs have every one. This offers links only: every page still calls its operation,
    /// which judges (and records) the request itself.
    public func offeredActions(for principal: Principal) throws -> Set<OperatorAction> {
        guard let id = principal.operatorID else { return Set(OperatorAction.allCases) }
        guard let stored = try store.operator(id), stored.state == .active else { return [] }
        return Set(OperatorAction.allCases.filter { action in stored.roles.contains { $0.allows(action, grants: stored.grants) } })
    }

    /// The newest audit entries, newest first, for the console's audit page (`audit-report`:
    /// what the monthly review shows, entry by entry; a scoped operator is refused as for the
    /// whole gateway's review).
    /// - Parameters:
    ///   - limit: how many at most (1 to 500).
    ///   - principal: who asks.
    public func latestAuditEntries(limit: Int = 50, by principal: Principal) throws -> [StoredEvent] {
        try authorize(.auditReport, by: principal)
        return try store.latestEvents(limit: limit)
    }

    /// The newest signed checkpoint of the audit trail (`audit-verify`); nil when none was signed.
    public func lastAuditCheckpoint(by principal: Principal) throws -> AuditCheckpointSummary? {
        try authorize(.auditVerify, by: principal)
        guard let c = try store.lastAuditCheckpoint() else { return nil }
        return AuditCheckpointSummary(sequence: c.sequence, time: AuditTime.parse(c.time) ?? .distantPast)
    }
}
