import Foundation

/// Four eyes on agreements and on the `security-officer` role (docs/operators.md): once two or
/// more active operators hold the role that guards a change, a change an operator asks for waits
/// as a `PendingChange` until a different operator with that role approves it. Local (shell) use
/// is break-glass and is not held to it; it is attributed truthfully.
public enum FourEyes {
    /// The role whose holders must agree on `action`, nil when it applies at once: `partner-admin`
    /// for `partner add|update|rotate|remove`, `security-officer` for an `operator add` or
    /// `operator grant` that gives `security-officer`.
    /// - Parameter roles: for `operator-add` and `operator-grant`, the roles given.
    public static func guardingRole(of action: OperatorAction, giving roles: Set<Role> = []) -> Role? {
        switch action {
        case .partnerAdd, .partnerUpdate, .partnerRotate, .partnerRemove: return .partnerAdmin
        case .operatorAdd, .operatorGrant: return roles.contains(.securityOfficer) ? .securityOfficer : nil
        default: return nil
        }
    }

    /// Whether a change guarded by `role` needs a second operator: two or more active operators
    /// hold the role (a partner scope does not matter: an approver out of scope is refused, and
    /// the shell can approve).
    public static func needsSecondOperator(_ role: Role, among operators: [Operator]) -> Bool {
        operators.filter { $0.state == .active && $0.roles.contains(role) }.count >= 2
    }
}

/// An approval of a pending change: the change, and who approves it.
public struct ApprovalRequest: Sendable, Hashable {
    public var change: PendingChange
    public var approver: Principal

    public init(change: PendingChange, approver: Principal) { self.change = change; self.approver = approver }
}

/// The approver is not the operator who proposed the change. Operators are compared by name (a
/// name always means one person: it stays taken after removal), so a new certificate does not
/// make the proposer someone else. The shell is break-glass and is not judged here.
public struct SecondPerson: Policy {
    public init() {}

    public func evaluate(_ r: ApprovalRequest) -> PolicyResult {
        guard let id = r.approver.operatorID, let proposer = r.change.proposer, id == proposer else { return .meets }
        return .fails(Refusal(.selfApproval, "Operator \(id) proposed change \(r.change.id) and cannot approve it too: a different operator with the role must run `claimgate approve \(r.change.id)`.", partner: r.change.partner))
    }
}
