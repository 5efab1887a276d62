import ClaimGateCore
import Foundation

/// Every operation an operator calls is judged here first, against the operator as stored now
/// (no cache: a suspension or a revoked role is in force at the next action). Front ends decide
/// no policy: they pass the principal, and the operation asks.
extension Gateway {
    /// Checks that `principal` may take `action` (on `partner`, for an action that concerns one)
    /// now. An operator must exist, be active, present the certificate on record (still valid),
    /// hold a role that allows the action, and have the partner in its scope (`OperatorPolicy`).
    /// The shell (`.local`) and the gateway's own jobs are not operators and may do anything:
    /// local use is bootstrap and break-glass, and is attributed to the real account.
    ///
    /// A refusal is recorded (`operator-refused`, reason `role-missing`, `partner-out-of-scope`,
    /// `operator-suspended`…, with the action as subject, attributed to the operator and the
    /// certificate it presented) and thrown as `not-permitted`. A read-only gateway cannot
    /// record it and only throws.
    /// - Parameters:
    ///   - action: what is asked for.
    ///   - partner: the partner it concerns; nil for an action on the whole gateway.
    ///   - principal: who asks.
    public func authorize(_ action: OperatorAction, partner: PartnerID? = nil, by principal: Principal) throws {
        _ = try allowedOperator(action, partner: partner, by: principal)
    }

    /// `authorize`, returning the operator as stored when it was judged (nil for the shell and
    /// the gateway's own jobs). An allowed action is noted as a use of the operator's rights that
    /// allow it (`noteRightsUsed`), for the grants review.
    func allowedOperator(_ action: OperatorAction, partner: PartnerID?, by principal: Principal) throws -> Operator? {
        guard let (id, fingerprint) = principal.operatorCredential else { return nil }
        let stored = try store.operator(id)
        let request = OperatorRequest(operatorID: id, fingerprint: fingerprint, stored: stored, action: action, partner: partner)
        if case .fails(let refusal) = OperatorPolicy(clock: clock).evaluate(request) {
            try refuse(refusal, action: action, partner: partner, by: principal)
        }
        if let stored { noteRightsUsed(by: stored, for: action) }
        return stored
    }

    /// Authorises a listing (`OperatorAction.narrowsToScope`) and says which partners' rows it
    /// may show: nil for every partner. A listing of one named partner is judged on that partner
    /// (out of scope: refused and recorded) and shows its rows; a listing of every partner by an
    /// operator scoped to some partners shows only theirs.
    /// - Parameters:
    ///   - partner: the partner the listing is asked for; nil for every partner.
    func listingScope(_ action: OperatorAction, partner: PartnerID?, by principal: Principal) throws -> Set<PartnerID>? {
        let op = try allowedOperator(action, partner: partner, by: principal)
        return partner == nil ? op?.partners : nil
    }

    /// `listingScope` for the partner a command names (as typed), or none.
    func listingScope(_ action: OperatorAction, partnerNamed raw: String?, by principal: Principal) throws -> Set<PartnerID>? {
        guard let raw else { return try listingScope(action, partner: nil, by: principal) }
        guard let id = try? PartnerID(stored: raw) else {
            // Names no partner: judged as the operator's listing, then the partner is unknown.
            _ = try listingScope(action, partner: nil, by: principal)
            _ = try partner(raw)
            throw ClaimGateError(.unknownPartner, "No partner '\(EventReason.bounded(String(raw.prefix(64))))': see `claimgate partner list`.")
        }
        return try listingScope(action, partner: id, by: principal)
    }

    /// Checks that `principal` may stage documents for `send` or `seal` (an operator API upload):
    /// in good standing and holding a role that seals or sends. The partner is not known yet:
    /// the scope is judged when the upload is sent. A refusal is recorded (subject `send`).
    public func authorizeUpload(by principal: Principal) throws {
        guard let (id, fingerprint) = principal.operatorCredential else { return }
        let stored = try store.operator(id)
        func judge(_ action: OperatorAction) -> PolicyResult {
            AllOf<OperatorRequest>([OperatorStanding(clock: clock), RoleAllowsAction()])
                .evaluate(OperatorRequest(operatorID: id, fingerprint: fingerprint, stored: stored, action: action))
        }
        if case .meets = judge(.seal) { return }
        guard case .fails(let refusal) = judge(.send) else { return }
        try refuse(refusal, action: .send, partner: nil, by: principal)
    }

    private func refuse(_ refusal: Refusal, action: OperatorAction, partner: PartnerID?, by principal: Principal) throws -> Never {
        guard let id = principal.operatorID else { throw ClaimGateError(.notPermitted, refusal.message, refusal: refusal.reason) }
        if !store.isReadOnly {
            try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: .operatorRefused, outcome: .refused,
                                           partnerID: partner, reason: EventReason(refusal.reason, action.rawValue), transport: principal.transport))
        }
        logger.info("operator refused", metadata: ["operator.id": "\(id)", "operator.action": "\(action)",
                                                   "reason": "\(refusal.reason)"])
        throw ClaimGateError(.notPermitted, refusal.message, refusal: refusal.reason)
    }

    /// `authorize` for an action on the partner a command names (as typed). An id that is not
    /// valid names no partner: a scoped operator is refused, anyone else learns from the
    /// operation that there is no such partner.
    func authorize(_ action: OperatorAction, partnerNamed raw: String, by principal: Principal) throws {
        try authorize(action, partner: try? PartnerID(stored: raw), by: principal)
    }
}
