import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// `/purge` (security officers): what purge destroys, and running it with the TOTP asked again.
extension ConsoleRoutes {
    /// `GET /purge`: what purge destroys, and its form (the TOTP again).
    func purgePage(_ s: SignedIn, result: Gateway.PurgeResult? = nil, error: String? = nil,
                   status: HTTPResponse.Status = .ok) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            try g.authorize(.purge, by: principal)
            var values: [String: Any] = ["retention": 90]
            if let result {
                values["result"] = ["bundles": result.bundles.map(\.description), "reports": result.inboundReports.map { $0.uuidString.lowercased() },
                                    "bundleCount": result.bundles.count, "reportCount": result.inboundReports.count, "bytes": result.bytes,
                                    "scratch": result.scratch, "scrubbed": result.scrubbedManifests,
                                    "expiredChanges": result.expiredChanges.count] as [String: Any]
            }
            if let error { values["error"] = error }
            return views.render("purge", page, status: status, title: "purge_title", values)
        }
    }

    /// `POST /purge` (`totp`, `retention` days, 90 when absent): the TOTP again, then `purge` as
    /// `claimgate purge` runs it; the page again with what was destroyed.
    func purge(_ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal, totp = form.trimmed("totp") ?? ""
        try await run { try g.authorize(.purge, by: principal) }
        do {
            let days = try form.trimmed("retention").map { raw -> Int in
                guard let d = Int(raw), d > 0, d <= 36_500 else {
                    throw ClaimGateError(.invalidArgument, "--inbound-retention-days must be a whole number of days, more than 0.")
                }
                return d
            } ?? 90
            let result = try await run { () throws -> Gateway.PurgeResult in
                try g.confirmTOTP(totp, by: principal)
                return try g.purge(inboundRetentionDays: days, by: principal)
            }
            return try await purgePage(s, result: result)
        } catch let e as ClaimGateError {
            return try await purgePage(s, error: e.message, status: Self.status(for: e.code))
        }
    }
}
