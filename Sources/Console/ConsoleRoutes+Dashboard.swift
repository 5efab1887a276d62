import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// `GET /`: what needs attention, each section only when the operator's roles allow its
/// operation (a section it may not see is left out, not refused): doctor's findings, failing
/// deliveries, the audit chain's state and last checkpoint, bundles waiting for a receipt.
extension ConsoleRoutes {
    func dashboard(_ s: SignedIn) async throws -> Response {
        let g = gateway, principal = s.principal, offered = s.page.offered, page = s.page, views = self.views
        return try await run {
            var values: [String: Any] = ["mayPurge": offered.contains(.purge)]
            if offered.contains(.doctor) {
                let report = try g.doctor(withinDays: 30, by: principal)
                values["doctor"] = ["findings": report.findings.map {
                    ["severity": $0.severity.rawValue, "code": $0.code.name, "subject": $0.subject, "message": $0.message] as [String: Any]
                }, "clean": report.findings.isEmpty] as [String: Any]
            }
            if offered.contains(.deliveriesView) {
                let failing = try g.deliveries(by: principal).filter { $0.state == .failed || ($0.state == .pending && $0.lastErrorCode != nil) }
                values["deliveries"] = ["rows": failing.prefix(50).map { Self.deliveryRow($0, page) }, "none": failing.isEmpty] as [String: Any]
            }
            if offered.contains(.auditVerify) {
                values["chain"] = Self.chainValues(AuditVerificationView(try g.verifyAuditTrail(by: principal)),
                                                   try g.lastAuditCheckpoint(by: principal), page, views.catalogue(page.language))
            }
            if offered.contains(.bundleList) {
                let now = g.clock.now
                let waiting = try g.bundles(by: principal).filter { [.delivered, .downloaded].contains($0.state) && $0.expires > now }
                values["waiting"] = ["rows": waiting.prefix(50).map { Self.bundleRow($0, page) }, "none": waiting.isEmpty] as [String: Any]
            }
            return views.render("dashboard", page, title: "title_dashboard", values)
        }
    }

    /// A delivery as the tables show it.
    static func deliveryRow(_ d: Delivery, _ page: ConsolePage) -> [String: Any] {
        var row: [String: Any] = ["bundle": d.bundleID.description, "partner": d.partnerID.rawValue, "transport": d.transport.rawValue,
                                  "state": d.state.rawValue, "attempts": d.attempts, "error": d.lastError ?? d.lastErrorCode ?? ""]
        if let at = d.lastAttemptAt { row["lastAttempt"] = page.date(at) }
        return row
    }

    /// A bundle as the tables show it.
    static func bundleRow(_ b: BundleRecord, _ page: ConsolePage) -> [String: Any] {
        ["id": b.id.description, "partner": b.partnerID.rawValue, "claim": b.claimID, "purpose": b.purpose,
         "state": b.state.rawValue, "created": page.date(b.created), "expires": page.date(b.expires)]
    }

    /// The audit chain's state (`#chain-state`) and its last checkpoint (`#last-checkpoint`).
    static func chainValues(_ v: AuditVerificationView, _ checkpoint: AuditCheckpointSummary?, _ page: ConsolePage,
                            _ t: ConsoleCatalogue) -> [String: Any] {
        var values: [String: Any] = ["intact": v.intact, "entries": v.entries, "unsealed": v.unsealed,
                                     "state": t.text(v.intact ? "audit_intact" : "audit_broken")]
        if let problem = v.problem { values["problem"] = problem }
        if let checkpoint {
            values["checkpoint"] = ["sequence": checkpoint.sequence, "time": page.date(checkpoint.time)] as [String: Any]
        }
        return values
    }
}
