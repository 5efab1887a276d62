import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// The deliveries page, with retry and cancel, as `deliveries` lists them for the operator.
/// Partners: `ConsoleRoutes+Partners.swift`; inbound reports: `ConsoleRoutes+Inbox.swift`;
/// operators: `ConsoleRoutes+Operators.swift`.
extension ConsoleRoutes {
    /// `GET /deliveries?state=`: push deliveries with state, attempts and last error; retry and
    /// cancel forms when the operator's roles allow them.
    func deliveries(_ request: Request, _ s: SignedIn, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let raw = request.uri.queryParameters.get("state").flatMap { $0.isEmpty ? nil : String($0.prefix(40)) }
        let state = try raw.map { raw in
            guard let st = DeliveryState(rawValue: raw) else {
                throw ClaimGateError(.invalidArgument, "state '\(raw)' is not a delivery state: use \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return st
        }
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let rows = try g.deliveries(state: state, by: principal)
            let mayRetry = page.offered.contains(.deliveryRetry), mayCancel = page.offered.contains(.deliveryCancel)
            var values: [String: Any] = [
                "rows": rows.prefix(Self.bundleRowLimit).map { d in
                    Self.deliveryRow(d, page).merging(["open": [.pending, .failed].contains(d.state),
                                                        "mayRetry": mayRetry, "mayCancel": mayCancel]) { $1 }
                },
                "none": rows.isEmpty,
                "states": DeliveryState.allCases.map { ["value": $0.rawValue, "selected": $0 == state] as [String: Any] },
            ]
            if let error { values["error"] = error }
            return views.render("deliveries", page, status: status, title: "title_deliveries", values)
        }
    }

    /// `POST /deliveries/BUNDLE/retry` and `/cancel` (`reason`): the operation, then back to the list.
    func changeDelivery(_ bundle: String, cancel: Bool, _ request: Request, _ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal, reason = form.trimmed("reason") ?? ""
        do {
            try await run {
                if cancel { _ = try g.cancelDelivery(of: bundle, reason: reason, by: principal) } else { _ = try g.retryDelivery(of: bundle, by: principal) }
            }
            return Self.redirect("/deliveries")
        } catch let e as ClaimGateError where e.code != .notPermitted {
            return try await deliveries(request, s, error: e.message, status: Self.status(for: e.code))
        }
    }
}
