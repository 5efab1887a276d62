import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// `/pending`: changes that wait for a second operator (four eyes), one change with what it
/// would do if approved now, its approval (TOTP asked again) and its withdrawal by its proposer.
extension ConsoleRoutes {
    /// `GET /pending`: pending and expired changes (`pending list`), `table#pending`.
    func pendingChanges(_ s: SignedIn) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let now = g.clock.now
            let changes = try g.pendingChanges(by: principal).filter { [.pending, .expired].contains($0.state(at: now)) }
            return views.render("pending", page, title: "pending_title", [
                "rows": changes.reversed().map { Self.changeRow($0, now: now, page) },
                "none": changes.isEmpty,
            ])
        }
    }

    /// `GET /pending/ID`: the change (`dl#change`), its summary and what it would do if approved
    /// now (`pre#change-diff`, `pending show`), why it cannot be approved, and the approve
    /// (`form#approve-form`) and withdraw (`form#withdraw-form`, its proposer) forms.
    func pendingChange(_ id: String, _ s: SignedIn, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let now = g.clock.now
            let preview = try g.previewChange(id, by: principal)
            let c = preview.change
            let open = c.state(at: now) == .pending
            let mine = c.proposer?.description == page.operatorName
            var values: [String: Any] = [
                "change": Self.changeRow(c, now: now, page).merging(c.settledBy.map {
                    ["settledBy": $0, "settledAt": c.settledAt.map(page.date) ?? ""]
                } ?? [:]) { $1 },
                "diff": preview.details.joined(separator: "\n"),
                "hasDiff": !preview.details.isEmpty,
                "mayApprove": open && preview.blocked == nil && !mine && page.offered.contains(c.action),
                "mayWithdraw": open && mine,
            ]
            if let blocked = preview.blocked { values["blocked"] = blocked }
            if let error { values["error"] = error }
            return views.render("pending-change", page, status: status, title: "pending_change_title", values)
        }
    }

    /// `POST /pending/ID/approve` (`totp`): the TOTP again (`confirmTOTP`, a wrong code recorded
    /// and counted toward the lock), then `approve` as the operator API calls it (a change that
    /// would generate a private key is refused: that key never leaves through the console). `303`
    /// to the partner it changed, or to the change.
    func approveChange(_ id: String, _ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal, totp = form.trimmed("totp") ?? ""
        do {
            let next = try await run { () throws -> String in
                try g.confirmTOTP(totp, by: principal)
                let (change, applied) = try g.approveChange(id, keysLeaving: false, by: principal)
                if case .partner(let p) = applied { return "/partners/" + ConsoleForm.queryEncoded(p.id.rawValue) }
                if case .partnerRemoved = applied { return "/partners" }
                return "/pending/" + ConsoleForm.queryEncoded(change.id.rawValue)
            }
            return Self.redirect(next)
        } catch let e as ClaimGateError where e.code != .unknownChange {
            return try await pendingChange(id, s, error: e.message, status: Self.status(for: e.code))
        }
    }

    /// `POST /pending/ID/withdraw`: `pending withdraw` (its proposer only: the operation judges);
    /// `303` back to the change.
    func withdrawChange(_ id: String, _ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal
        do {
            let withdrawn = try await run { try g.withdrawChange(id, by: principal).id.rawValue }
            return Self.redirect("/pending/" + ConsoleForm.queryEncoded(withdrawn))
        } catch let e as ClaimGateError where e.code != .unknownChange {
            return try await pendingChange(id, s, error: e.message, status: Self.status(for: e.code))
        }
    }

    /// A pending change as the list and its page show it.
    static func changeRow(_ c: PendingChange, now: Date, _ page: ConsolePage) -> [String: Any] {
        ["id": c.id.rawValue, "action": c.action.rawValue, "target": c.target, "partner": c.partner?.rawValue ?? "", "hasPartner": c.partner != nil,
         "summary": c.summary, "state": c.state(at: now).rawValue, "proposedBy": c.proposedBy,
         "created": page.date(c.created), "expires": page.date(c.expires)]
    }
}
