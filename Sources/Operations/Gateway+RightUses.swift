import ClaimGateCore
import Foundation

/// The last use of each operator's roles and grants, reads included, for the grants review
/// (`GatewayStore+RightUses`).
extension Gateway {
    /// How often one operator's use of one right is written at most.
    static let rightUseInterval: TimeInterval = 60

    /// The rights an allowed `action` uses: each role the operator holds that allows it (with
    /// its grants), and the grant `inbox-export` for `inbox export`. An action every role allows
    /// (partner list and show, the gateway's identity) needs no particular right and uses none.
    static func rightsUsed(by op: Operator, for action: OperatorAction) -> [String] {
        guard !Role.allCases.allSatisfy({ $0.actions.contains(action) }) else { return [] }
        var rights = op.roles.sorted().filter { $0.allows(action, grants: op.grants) }.map(\.rawValue)
        if action == .inboxExport, op.grants.contains(.inboxExport) { rights.append(OperatorGrant.inboxExport.rawValue) }
        return rights
    }

    /// Notes that `op` was allowed `action` now, for the rights it uses: at most once a minute
    /// per operator and right (the rest are coalesced), never by a read-only gateway, and
    /// without waiting (it rides in the next transaction). A failure is logged, not thrown: the
    /// action itself was allowed.
    func noteRightsUsed(by op: Operator, for action: OperatorAction) {
        guard !store.isReadOnly else { return }
        let rights = Self.rightsUsed(by: op, for: action)
        guard !rights.isEmpty else { return }
        let now = clock.now
        let due = rightUsesNoted.withLock { noted in
            rights.filter { right in
                let key = op.id.rawValue + "\u{0}" + right
                if let last = noted[key], last <= now, now.timeIntervalSince(last) < Self.rightUseInterval { return false }
                noted[key] = now
                return true
            }
        }
        guard !due.isEmpty else { return }
        let logger = self.logger, id = op.id
        store.noteRightsUsed(operatorName: op.id.rawValue, rights: due, action: action.rawValue, at: now) { error in
            logger.info("the use of an operator's rights was not noted", metadata: ["operator.id": "\(id)", "error": "\(error)"])
        }
    }
}
