import Foundation

/// One action an operator asks for: who (the name and the fingerprint of the certificate it
/// presented, or none for an operator signed in to the web console), the operator as stored now (nil when there is none), what, and the partner it
/// concerns (nil for an action on the whole gateway).
public struct OperatorRequest: Sendable, Hashable {
    public var operatorID: OperatorID
    /// SHA-256 of the presented certificate's DER, lowercase hex; nil for a web console session,
    /// whose password, TOTP and idle timeout were checked when the session was read.
    public var fingerprint: String?
    public var stored: Operator?
    public var action: OperatorAction
    public var partner: PartnerID?

    public init(operatorID: OperatorID, fingerprint: String?, stored: Operator?, action: OperatorAction, partner: PartnerID? = nil) {
        self.operatorID = operatorID; self.fingerprint = fingerprint; self.stored = stored
        self.action = action; self.partner = partner
    }
}

/// Whether an operator may take an action now: it is in good standing (known, active, with the
/// certificate on record, still valid), one of its roles allows the action, and the partner is
/// in its scope. The first failure, in that order. Local (shell) use and the gateway's own jobs
/// are not operators and are not judged by it.
public struct OperatorPolicy: Policy {
    public let clock: any WallClock

    public init(clock: any WallClock) { self.clock = clock }

    public func evaluate(_ request: OperatorRequest) -> PolicyResult {
        AllOf<OperatorRequest>([OperatorStanding(clock: clock), RoleAllowsAction(), PartnerInScope()]).evaluate(request)
    }
}
