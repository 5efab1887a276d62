import ClaimGateCore

/// What a change asked for came to: applied at once, or kept as a pending change that waits
/// for a second operator (four eyes, docs/operators.md). Front ends print `pending change ID`
/// (`{"pending": "ID"}` as JSON) for a pending one and exit 0.
public enum ChangeOutcome<Value: Sendable>: Sendable {
    case applied(Value)
    case pending(PendingChange)

    /// The value of a change applied at once; nil for a pending one.
    public var appliedValue: Value? {
        if case .applied(let v) = self { return v }
        return nil
    }

    /// The pending change; nil for a change applied at once.
    public var pendingChange: PendingChange? {
        if case .pending(let c) = self { return c }
        return nil
    }

    /// The value, for callers that act where four eyes does not apply (the shell, the demo).
    /// - Throws: `invalid-argument` for a pending change, naming it.
    public func requireApplied() throws -> Value {
        switch self {
        case .applied(let v): return v
        case .pending(let c):
            throw ClaimGateError(.invalidArgument, "Change \(c.id) waits for a second operator's approval: `claimgate approve \(c.id)`.")
        }
    }
}

/// A partner's encryption certificate rolled over (`rotateEncryption`): the partner as stored,
/// and the SHA-256 of the certificate rotated to.
public struct Rotation: Sendable {
    public var partner: Partner
    public var fingerprint: String
}

/// What an approved change did.
public enum AppliedChange: Sendable {
    /// A partner onboarded, or its next agreement version (an update or a rotation).
    case partner(Partner)
    /// A partner removed.
    case partnerRemoved(PartnerID)
    /// An operator given a role.
    case operatorChanged(Operator)
    /// An operator added: its credentials go to the person, through whoever approved.
    case operatorAdded(IssuedOperator)
}
