/// An operator scoped to some partners (`operator add --partners`) acts only on those: an
/// action on another partner, or on every partner at once, is refused. Reading the gateway's
/// public identity concerns no partner and is not limited; a listing asked for without a
/// partner (`OperatorAction.narrowsToScope`) is allowed, and the operation shows only the rows
/// of the operator's partners.
public struct PartnerInScope: Policy {
    public init() {}

    public func evaluate(_ r: OperatorRequest) -> PolicyResult {
        guard let scope = r.stored?.partners, !r.action.isPartnerNeutral else { return .meets }
        let listed = scope.sorted().map(\.rawValue).joined(separator: ", ")
        guard let partner = r.partner else {
            if r.action.narrowsToScope { return .meets }
            return .fails(Refusal(.partnerOutOfScope, "Operator \(r.operatorID) acts only for partners \(listed): `\(r.action.command)` concerns every partner; name one of them, or ask an operator without a partner scope."))
        }
        guard scope.contains(partner) else {
            return .fails(Refusal(.partnerOutOfScope, "Operator \(r.operatorID) acts only for partners \(listed), not \(partner): ask an operator whose scope includes it."))
        }
        return .meets
    }
}
