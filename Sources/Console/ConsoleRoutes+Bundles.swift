import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// `/bundles`: the search, a bundle with its history, and its recall (TOTP asked again).
extension ConsoleRoutes {
    /// The most rows a search shows.
    static let bundleRowLimit = 200

    /// `GET /bundles?claim=&partner=&state=&from=&to=`: the bundles `bundle list` shows the
    /// operator (its partner scope applied by the operation), searched in the store.
    func bundles(_ request: Request, _ s: SignedIn) async throws -> Response {
        let query = request.uri.queryParameters
        func q(_ name: String) -> String? {
            guard let v = query.get(name)?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return String(v.prefix(128))
        }
        let claim = q("claim"), partner = q("partner"), stateRaw = q("state"), fromRaw = q("from"), toRaw = q("to")
        let state = try stateRaw.map { raw in
            guard let st = BundleState(rawValue: raw) else {
                throw ClaimGateError(.invalidArgument, "state '\(raw.prefix(40))' is not a bundle state: use \(BundleState.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return st
        }
        let from = try fromRaw.map { try Self.day($0, "from") }, to = try toRaw.map { try Self.day($0, "to") }
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let found = try g.searchBundles(BundleSearch(claim: claim, partner: partner, state: state, createdFrom: from,
                                                         createdBefore: to?.addingTimeInterval(86_400), limit: Self.bundleRowLimit),
                                            by: principal)
            let states = BundleState.allCases.map { ["value": $0.rawValue, "selected": $0 == state] as [String: Any] }
            return views.render("bundles", page, title: "title_bundles", [
                "rows": found.bundles.map { Self.bundleRow($0, page) },
                "none": found.total == 0, "more": found.total > found.bundles.count, "count": found.total,
                "claim": claim ?? "", "partner": partner ?? "", "from": fromRaw ?? "", "to": toRaw ?? "", "states": states,
            ])
        }
    }

    /// A day typed as `YYYY-MM-DD`, at its start (UTC).
    static func day(_ raw: String, _ name: String) throws -> Date {
        do { return try CalendarDay(parsing: raw).startOfDay } catch {
            throw ClaimGateError(.invalidArgument, "\(name) '\(raw.prefix(40))' is not a date: use YYYY-MM-DD.")
        }
    }

    /// `GET /bundles/ID`: the bundle (`dl#bundle`), its audit history (`table#history`) and, when
    /// the operator may recall it, the recall form.
    func bundle(_ id: String, _ s: SignedIn, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let (b, expired, history) = try g.bundleWithHistory(id, by: principal)
            let documents = ((try? BundleManifest.decode(b.manifestJSON))?.documents ?? []).map {
                ["name": $0.name, "mediaType": $0.mediaType, "size": $0.size, "sha256": $0.sha256] as [String: Any]
            }
            var values: [String: Any] = [
                "bundle": Self.bundleRow(b, page).merging(["state": expired ? "expired" : b.state.rawValue, "size": b.fileSize,
                                                           "documents": documents]) { $1 },
                "history": history.map { Self.eventRow($0, page) },
                "mayRecall": page.offered.contains(.bundleRecall) && ![.recalled, .purged, .expired].contains(b.state) && !expired,
            ]
            if let error { values["error"] = error }
            return views.render("bundle", page, status: status, title: "title_bundle", values)
        }
    }

    /// `POST /bundles/ID/recall` (`reason`, `totp`): the TOTP again (`confirmTOTP`, a wrong code
    /// recorded and counted toward the lock), then the recall; `303` back to the bundle, or the
    /// bundle again with the error.
    func recall(_ id: String, _ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal
        let reason = form.trimmed("reason") ?? "", totp = form.trimmed("totp") ?? ""
        do {
            let recalled = try await run { () throws -> String in
                try g.confirmTOTP(totp, by: principal)
                return try g.recall(bundle: id, reason: reason, by: principal).id.description
            }
            return Self.redirect("/bundles/" + recalled)
        } catch let e as ClaimGateError where e.code != .unknownBundle {
            return try await bundle(id, s, error: e.message, status: Self.status(for: e.code))
        }
    }

    /// An audit entry as the tables show it.
    static func eventRow(_ e: StoredEvent, _ page: ConsolePage) -> [String: Any] {
        ["seq": e.sequence, "time": page.date(e.time), "actor": e.actor, "action": e.action, "outcome": e.outcome,
         "partner": e.partnerID ?? "", "bundle": e.bundleID ?? "", "hasBundle": e.bundleID != nil, "reason": e.reason ?? "", "transport": e.transport]
    }
}
