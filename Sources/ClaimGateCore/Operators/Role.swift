/// What an operator is for: a closed set of roles, each allowing a fixed set of actions
/// (docs/operators.md has the whole table). An operator may hold several.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    /// Claims staff: seal and send, see bundles, deliveries and inbound reports; export inbound
    /// documents only with the grant `inbox-export`.
    case claimsOperator = "claims-operator"
    /// Onboards and changes partners, recalls bundles, retries and cancels deliveries; no
    /// sealing, no documents.
    case partnerAdmin = "partner-admin"
    /// Reads and exports the audit trail and reads metadata; no documents, no changes.
    case auditor
    /// Manages operators and their grants, runs doctor and purge; no sealing, no documents.
    case securityOfficer = "security-officer"

    /// The actions this role allows. `inbox-export` is the claims operator's only with the
    /// grant `inbox-export` (see `allows(_:grants:)`).
    public var actions: Set<OperatorAction> {
        let everyone: Set<OperatorAction> = [.partnerList, .partnerShow, .identityShow]
        switch self {
        case .claimsOperator:
            return everyone.union([.seal, .send, .bundleList, .bundleShow, .deliveriesView, .inboxList, .inboxShow, .inboxExport])
        case .partnerAdmin:
            return everyone.union([.partnerAdd, .partnerUpdate, .partnerSuspend, .partnerResume, .partnerRemove, .partnerRotate,
                                   .bundleRecall, .bundleList, .bundleShow, .deliveriesView, .deliveryRetry, .deliveryCancel, .pendingList])
        case .auditor:
            return everyone.union([.auditVerify, .auditExport, .auditReport, .auditImpact, .bundleList, .bundleShow,
                                   .deliveriesView, .inboxList, .inboxShow, .operatorList, .operatorShow, .pendingList])
        case .securityOfficer:
            return everyone.union([.operatorAdd, .operatorSuspend, .operatorResume, .operatorRemove, .operatorGrant,
                                   .operatorRevoke, .operatorList, .operatorShow, .operatorCredentials, .doctor, .purge, .pendingList])
        }
    }

    /// Whether this role, with the operator's extra grants, allows `action`.
    public func allows(_ action: OperatorAction, grants: Set<OperatorGrant>) -> Bool {
        guard actions.contains(action) else { return false }
        if action == .inboxExport { return self == .claimsOperator && grants.contains(.inboxExport) }
        return true
    }

    /// Parses `claims-operator,auditor` (commas, no repeats).
    /// - Throws: `ClaimGateError(.invalidArgument)` naming the roles there are.
    public static func parseList(_ text: String) throws -> Set<Role> {
        var roles = Set<Role>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let r = Role(rawValue: String(part)) else {
                throw ClaimGateError(.invalidArgument, "Role '\(EventReason.bounded(String(part.prefix(40))))' does not exist: use \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            roles.insert(r)
        }
        return roles
    }

    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
