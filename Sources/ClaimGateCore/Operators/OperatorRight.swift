/// What `operator grant` gives and `operator revoke` takes back: a role, or an extra grant.
public enum OperatorRight: Sendable, Hashable, CustomStringConvertible {
    case role(Role)
    case grant(OperatorGrant)

    /// `claims-operator`, `auditor`…, or `inbox-export`.
    /// - Throws: `ClaimGateError(.invalidArgument)` naming what there is.
    public init(parsing text: String) throws {
        if let r = Role(rawValue: text) { self = .role(r); return }
        if let g = OperatorGrant(rawValue: text) { self = .grant(g); return }
        let all = Role.allCases.map(\.rawValue) + OperatorGrant.allCases.map(\.rawValue)
        throw ClaimGateError(.invalidArgument, "'\(EventReason.bounded(String(text.prefix(40))))' is neither a role nor a grant: use one of \(all.joined(separator: ", ")).")
    }

    public var description: String {
        switch self {
        case .role(let r): return r.rawValue
        case .grant(let g): return g.rawValue
        }
    }
}
