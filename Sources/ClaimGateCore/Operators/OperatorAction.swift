/// Every action an operator can take through the gateway's operations: the CLI's operator
/// commands, one case each. A closed set; the role table (`Role.actions`, docs/operators.md)
/// says who may take which. Partner-side tools (`open`, `seal-report`), `init`, `serve`, `demo`
/// and `dev-pki` are not operator actions: they run at the host's shell only.
public enum OperatorAction: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    // Bundles.
    case seal, send
    case bundleList = "bundle-list", bundleShow = "bundle-show", bundleRecall = "bundle-recall"
    case deliveriesView = "deliveries-view"
    /// A push delivery tried again at once, or cancelled (the bundle stays in the outbox).
    case deliveryRetry = "delivery-retry", deliveryCancel = "delivery-cancel"
    // Inbound reports.
    case inboxList = "inbox-list", inboxShow = "inbox-show", inboxExport = "inbox-export"
    // Partners.
    case partnerAdd = "partner-add", partnerUpdate = "partner-update", partnerSuspend = "partner-suspend"
    case partnerResume = "partner-resume", partnerRemove = "partner-remove", partnerRotate = "partner-rotate"
    case partnerList = "partner-list", partnerShow = "partner-show"
    // The audit trail.
    case auditVerify = "audit-verify", auditExport = "audit-export", auditReport = "audit-report", auditImpact = "audit-impact"
    // Housekeeping.
    case doctor, purge
    // Operators.
    case operatorAdd = "operator-add", operatorSuspend = "operator-suspend", operatorResume = "operator-resume"
    case operatorRemove = "operator-remove", operatorGrant = "operator-grant", operatorRevoke = "operator-revoke"
    case operatorList = "operator-list", operatorShow = "operator-show"
    /// Setting an operator's web console password or enrolling its TOTP (`operator password`,
    /// `operator totp`).
    case operatorCredentials = "operator-credentials"
    // Four eyes: listing and showing pending changes (approving one is the change's own action).
    case pendingList = "pending-list"
    // The gateway's public identity (certificates partners and operators trust).
    case identityShow = "identity-show"

    /// Whether the action can be taken without naming a partner by an operator scoped to some
    /// partners: only reading the gateway's public identity. Every other action either names a
    /// partner (checked against the scope) or concerns every partner, which a scoped operator
    /// may not do.
    public var isPartnerNeutral: Bool { self == .identityShow }

    /// The command that takes it, for sentences: `partner suspend`.
    public var command: String {
        switch self {
        case .deliveriesView: return "deliveries"
        case .deliveryRetry: return "deliveries retry"
        case .deliveryCancel: return "deliveries cancel"
        case .identityShow: return "identity"
        case .pendingList: return "pending"
        case .operatorCredentials: return "operator password"
        default: return rawValue.replacingOccurrences(of: "-", with: " ")
        }
    }

    public var description: String { rawValue }
}
