import ClaimGateCore
import Foundation
import Hummingbird
import NIOCore
import Operations

/// `/audit`: the chain's state, the last checkpoint, the latest entries, the monthly review as a
/// page and as CSV, and the impact query.
extension ConsoleRoutes {
    /// `GET /audit`. The entries are read first (`audit-report`): an operator whose roles do
    /// not allow it gets `403`, recorded, as for every page reached outside its roles.
    func audit(_ s: SignedIn) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let entries = try g.latestAuditEntries(limit: 50, by: principal)
            var values: [String: Any] = [
                "entries": entries.map { Self.eventRow($0, page) },
                "month": ReportMonth(containing: g.clock.now).description,
            ]
            if page.offered.contains(.auditVerify) {
                values["chain"] = Self.chainValues(AuditVerificationView(try g.verifyAuditTrail(by: principal)),
                                                   try g.lastAuditCheckpoint(by: principal), page, views.catalogue(page.language))
            }
            values["mayImpact"] = page.offered.contains(.auditImpact)
            return views.render("audit", page, title: "title_audit", values)
        }
    }

    /// The month a report is asked for (`?month=YYYY-MM`; this month when absent).
    private func month(_ request: Request) throws -> ReportMonth {
        guard let raw = request.uri.queryParameters.get("month"), !raw.isEmpty else { return ReportMonth(containing: gateway.clock.now) }
        return try ReportMonth(parsing: raw)
    }

    /// `GET /audit/report?month=YYYY-MM`: the monthly access review (`audit report`) as a page.
    func auditReport(_ request: Request, _ s: SignedIn) async throws -> Response {
        let month = try month(request)
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let review = try g.auditReport(month: month, by: principal)
            let partners = review.partners.map { p -> [String: Any] in
                ["partner": p.partner, "name": p.name ?? "", "status": p.status ?? "", "sealed": p.totals.bundlesSealed,
                 "delivered": p.totals.delivered, "downloads": p.totals.downloadsComplete, "receipts": p.totals.receipts,
                 "refusals": p.refusals.reduce(0) { $0 + $1.count }, "flags": p.flags.count]
            }
            let flags = review.partners.flatMap { p in p.flags.map { ($0, p.partner) } }.map { f, partner -> [String: Any] in
                ["partner": partner, "code": f.code.rawValue, "message": f.message, "count": f.count]
            }
            let operators = review.operators.map { o -> [String: Any] in
                ["operator": o.operator, "state": o.state ?? "", "entries": o.entries,
                 "refusals": o.refusals.reduce(0) { $0 + $1.count }]
            }
            return views.render("audit-report", page, title: "title_audit_report", [
                "month": review.month, "complete": review.complete, "generated": review.generated,
                "partners": partners, "flags": flags, "operators": operators,
                "noPartners": partners.isEmpty, "noFlags": flags.isEmpty, "noOperators": operators.isEmpty,
            ])
        }
    }

    /// `GET /audit/report.csv?month=YYYY-MM`: the same review as `audit report --format csv`, a download.
    func auditReportCSV(_ request: Request, _ s: SignedIn) async throws -> Response {
        let month = try month(request)
        let g = gateway, principal = s.principal
        let text = try await run { try g.auditReport(month: month, by: principal).rendered(as: .csv) }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"access-review-\(month).csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The impact query a request asks for (`claim`, `partner`; at least one).
    private func impactQuery(_ request: Request) -> (claim: String?, partner: String?) {
        let query = request.uri.queryParameters
        func q(_ name: String) -> String? {
            guard let v = query.get(name)?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return String(v.prefix(128))
        }
        return (q("claim"), q("partner"))
    }

    /// `GET /audit/impact?claim=&partner=`: who was exposed to a claim's or a partner's bundles
    /// (`audit impact`), summed up, with the CSV to download.
    func auditImpact(_ request: Request, _ s: SignedIn) async throws -> Response {
        let (claim, partner) = impactQuery(request)
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            var values: [String: Any] = ["claim": claim ?? "", "partner": partner ?? ""]
            if claim != nil || partner != nil {
                let query = ImpactQuery(partner: try partner.map { try g.partner($0, by: principal).id }, claim: claim)
                let summary = try g.auditImpact(query, format: .csv, by: principal) { _ in }
                var link = "/audit/impact.csv?"
                if let claim { link += "claim=" + ConsoleForm.queryEncoded(claim) + "&" }
                if let partner { link += "partner=" + ConsoleForm.queryEncoded(partner) }
                values["summary"] = ["partners": summary.partners.joined(separator: ", "), "claims": summary.claims.joined(separator: ", "),
                                     "bundles": summary.bundles, "documents": summary.documents, "exposures": summary.exposures,
                                     "downloads": summary.downloads, "first": summary.firstTime ?? "", "last": summary.lastTime ?? "",
                                     "csv": link] as [String: Any]
            } else {
                try g.authorize(.auditImpact, by: principal)
            }
            return views.render("audit-impact", page, title: "title_audit_impact", values)
        }
    }

    /// `GET /audit/impact.csv?claim=&partner=`: the impact as `audit impact --format csv`, a download.
    func auditImpactCSV(_ request: Request, _ s: SignedIn) async throws -> Response {
        let (claim, partner) = impactQuery(request)
        let g = gateway, principal = s.principal
        let text = try await run { () throws -> String in
            let query = ImpactQuery(partner: try partner.map { try g.partner($0, by: principal).id }, claim: claim)
            var out = ""
            try g.auditImpact(query, format: .csv, by: principal) { out += $0 }
            return out
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"impact.csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
