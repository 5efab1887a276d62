import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// `/send`: choose a partner (step 1), then the claim, purpose (the agreement's own), expiry,
/// metadata and documents (step 2), sealed and queued by the operation `claimgate send` calls.
extension ConsoleRoutes {
    /// `GET /send` (the partners the operator may send to) or `GET /send?partner=ID` (the form).
    /// Judged first as an upload is (`authorizeUpload`: a role that seals or sends), so an
    /// operator without one gets `403`, recorded.
    func sendPage(_ request: Request, _ s: SignedIn) async throws -> Response {
        let partner = request.uri.queryParameters.get("partner").flatMap { $0.isEmpty ? nil : String($0.prefix(64)) }
        return try await sendForm(s, partner: partner, values: [:], status: .ok)
    }

    /// The send page for `partner` (step 2) or for choosing one (step 1), with `values` (what
    /// was typed, an error) over it.
    func sendForm(_ s: SignedIn, partner: String?, values extra: [String: String], status: HTTPResponse.Status) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            try g.authorizeUpload(by: principal)
            var values: [String: Any] = [:]
            for (k, v) in extra { values[k] = v }
            if let partner {
                let p = try g.partner(partner, by: principal)
                let chosen = extra["purpose"]
                values["partner"] = ["id": p.agreement.id.rawValue, "name": p.agreement.name] as [String: Any]
                values["purposes"] = p.agreement.terms.purposes.map { ["value": $0, "selected": $0 == chosen] as [String: Any] }
            } else {
                let partners = try g.partners(by: principal).filter { $0.status == .active }
                values["choices"] = partners.map { ["id": $0.agreement.id.rawValue, "name": $0.agreement.name] as [String: Any] }
                values["noChoices"] = partners.isEmpty
            }
            return views.render("send", page, status: status, title: "title_send", values)
        }
    }

    /// The metadata field: one `key=value` per line (blank lines skipped), as `--meta` takes them.
    /// - Throws: `invalid-argument` for a line without `=` or a key given twice.
    static func metadata(_ text: String) throws -> [String: String] {
        var metadata: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let parts = trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ClaimGateError(.invalidArgument, "Metadata line '\(trimmed.prefix(40))…' must be KEY=VALUE.")
            }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            guard metadata.updateValue(String(parts[1]).trimmingCharacters(in: .whitespaces), forKey: key) == nil else {
                throw ClaimGateError(.invalidArgument, "Metadata \(key.prefix(40)) is given twice: give each key once.")
            }
        }
        return metadata
    }
}
