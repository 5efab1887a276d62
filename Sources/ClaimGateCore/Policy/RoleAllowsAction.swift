/// One of the operator's roles (with its grants) allows the action (`Role.actions`).
public struct RoleAllowsAction: Policy {
    public init() {}

    public func evaluate(_ r: OperatorRequest) -> PolicyResult {
        let roles = r.stored?.roles ?? []
        let grants = r.stored?.grants ?? []
        if roles.contains(where: { $0.allows(r.action, grants: grants) }) { return .meets }
        let held = roles.isEmpty ? "no role" : "roles " + roles.sorted().map(\.rawValue).joined(separator: ", ")
        let needed: String
        if r.action == .inboxExport {
            needed = "role claims-operator with the grant inbox-export"
        } else {
            needed = Role.allCases.filter { $0.actions.contains(r.action) }.map(\.rawValue).joined(separator: " or ")
        }
        return .fails(Refusal(.roleMissing, "Operator \(r.operatorID) may not run `\(r.action.command)` (it holds \(held)): it needs \(needed); ask a security officer."))
    }
}
