import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// `/operators` (security officers): the list, one operator with its console status, and the
/// forms that add one (by its public key), give and take back roles and grants, suspend and
/// resume. A change four eyes keeps pending goes to its page, `/pending/ID`.
extension ConsoleRoutes {
    /// `GET /operators`: the operators with their roles, grants and scope (`operator list`), and
    /// the add form when the operator's roles offer it.
    func operators(_ s: SignedIn, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let operators = try g.operators(by: principal)
            var values: [String: Any] = [
                "rows": operators.map { o -> [String: Any] in
                    ["name": o.id.description, "state": o.state.rawValue, "roles": o.roles.sorted().map(\.rawValue).joined(separator: ", "),
                     "grants": o.grants.sorted().map(\.rawValue).joined(separator: ", "),
                     "partners": o.partners.map { $0.sorted().map(\.rawValue).joined(separator: ", ") } ?? "*",
                     "changed": page.date(o.changedAt)]
                },
                "mayAdd": page.offered.contains(.operatorAdd),
                "roles": Role.allCases.map { ["value": $0.rawValue] },
                "grants": OperatorGrant.allCases.map { ["value": $0.rawValue] },
                "maxDays": Gateway.maxOperatorCertificateDays,
            ]
            if let error { values["error"] = error }
            return views.render("operators", page, status: status, title: "title_operators", values)
        }
    }

    /// `GET /operators/NAME`: one operator as `operator show` prints it, with its console status
    /// (password, TOTP, locked until), dates in the operator's time zone, and the forms the
    /// signed-in operator's roles offer.
    func operatorPage(_ name: String, _ s: SignedIn, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let v = try g.operatorView(name, by: principal), stored = try g.operator(name, by: principal)
            let held = Set(v.roles + v.grants)
            let rights = Role.allCases.map(\.rawValue) + OperatorGrant.allCases.map(\.rawValue)
            var values: [String: Any] = [
                "op": ["name": v.name, "state": v.state, "roles": v.roles.joined(separator: ", "), "grants": v.grants.joined(separator: ", "),
                       "partners": v.partners.map { $0.joined(separator: ", ") } ?? "*", "serial": v.certificateSerial,
                       "notAfter": page.date(stored.certificate.notAfter), "fingerprint": v.certificateFingerprint, "createdBy": v.createdBy,
                       "createdAt": page.date(stored.createdAt), "changedBy": v.changedBy,
                       "changedAt": page.date(stored.changedAt)] as [String: Any],
                "mayGrant": page.offered.contains(.operatorGrant) && v.state != OperatorState.removed.rawValue,
                "mayRevoke": page.offered.contains(.operatorRevoke) && v.state != OperatorState.removed.rawValue && !held.isEmpty,
                "maySuspend": page.offered.contains(.operatorSuspend) && v.state == OperatorState.active.rawValue,
                "mayResume": page.offered.contains(.operatorResume) && v.state == OperatorState.suspended.rawValue,
                "grantable": rights.filter { !held.contains($0) }.map { ["value": $0] },
                "revocable": rights.filter { held.contains($0) }.map { ["value": $0] },
            ]
            if let c = v.console {
                values["console"] = ["password": c.password, "totp": c.totp, "lockedUntil": c.lockedUntil ?? "",
                                     "locked": c.lockedUntil != nil] as [String: Any]
            }
            if let error { values["error"] = error }
            return views.render("operator", page, status: status, title: "operator_title", values)
        }
    }

    /// `POST /operators` (`name`, `role` checkboxes, `grant` checkboxes, `partners`, `days`,
    /// `public_key` PEM): `addOperator(…, publicKeyPEM:)` as the operator API's `operator add`
    /// with a key. The private key stays on the operator's machine; the page shows the issued
    /// certificate chain (public). A change four eyes keeps pending: `303` to `/pending/ID`.
    func addOperator(_ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        let name = form.trimmed("name") ?? "", publicKey = form["public_key"] ?? ""
        do {
            let roles = Set(try form.values("role").map { raw -> Role in
                guard let r = Role(rawValue: raw) else { throw ClaimGateError(.invalidArgument, "Role '\(raw.prefix(40))' does not exist: use \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") }
                return r
            })
            let grants = Set(try form.values("grant").map { raw -> OperatorGrant in
                guard let gr = OperatorGrant(rawValue: raw) else { throw ClaimGateError(.invalidArgument, "Grant '\(raw.prefix(40))' does not exist: use \(OperatorGrant.allCases.map(\.rawValue).joined(separator: ", ")).") }
                return gr
            })
            let partners = form.trimmed("partners").map { $0.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) }
            let days = try form.trimmed("days").map { raw -> Int in
                guard let d = Int(raw) else { throw ClaimGateError(.invalidArgument, "--days '\(raw.prefix(12))' is not a number of days.") }
                return d
            } ?? 365
            guard publicKey.contains("-----BEGIN") else {
                throw ClaimGateError(.invalidArgument, "Paste the operator's public key (PEM, `openssl pkey -pubout`) or certificate request: the console never makes a private key.")
            }
            let outcome = try await run {
                try g.addOperator(name, roles: roles, grants: grants, partners: partners, days: days, publicKeyPEM: publicKey, by: principal)
            }
            switch outcome {
            case .pending(let change): return Self.redirect("/pending/" + change.id.description)
            case .applied(let issued):
                return views.render("operator-added", page, title: "operator_added_title", [
                    "name": issued.operator.id.description, "chain": issued.certificateChainPEM,
                    "fingerprint": issued.operator.certificate.fingerprint,
                ])
            }
        } catch let e as ClaimGateError where e.code != .notPermitted {
            return try await operators(s, error: e.message, status: Self.status(for: e.code))
        }
    }

    /// `POST /operators/NAME/grant` and `/revoke` (`right`: a role or a grant): the operation,
    /// then back to the operator; a pending grant (four eyes) goes to `/pending/ID`.
    func changeOperatorRight(_ name: String, revoke: Bool, _ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal, raw = form.trimmed("right") ?? ""
        do {
            let right = try OperatorRight(parsing: raw)
            let pending = try await run { () throws -> PendingChangeID? in
                if revoke { _ = try g.revokeOperator(name, right, by: principal); return nil }
                return try g.grantOperator(name, right, by: principal).pendingChange?.id
            }
            if let pending { return Self.redirect("/pending/" + pending.description) }
            return Self.redirect("/operators/" + ConsoleForm.queryEncoded(name))
        } catch let e as ClaimGateError where e.code != .notPermitted && e.code != .unknownOperator {
            return try await operatorPage(name, s, error: e.message, status: Self.status(for: e.code))
        }
    }

    /// `POST /operators/NAME/suspend` and `/resume`: the operation, then back to the operator.
    func changeOperatorState(_ name: String, suspend: Bool, _ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal
        do {
            try await run {
                if suspend { _ = try g.suspendOperator(name, by: principal) } else { _ = try g.resumeOperator(name, by: principal) }
            }
            return Self.redirect("/operators/" + ConsoleForm.queryEncoded(name))
        } catch let e as ClaimGateError where e.code != .notPermitted && e.code != .unknownOperator {
            return try await operatorPage(name, s, error: e.message, status: Self.status(for: e.code))
        }
    }
}
