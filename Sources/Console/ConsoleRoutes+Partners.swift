import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// `/partners`: the list, a partner in full, suspend and resume, and agreement uploads (a new
/// partner, or a partner's next agreement version), each applied at once or kept for a second
/// operator (four eyes, `/pending`).
extension ConsoleRoutes {
    /// The most bytes one uploaded agreement or certificate file may have (the loader's own
    /// limits are smaller for the agreement file).
    static let agreementUploadFileBytes: Int64 = 16 << 20
    /// The most bytes an agreement upload may have in all.
    static let agreementUploadBytes: Int64 = 48 << 20

    /// `GET /partners`: the partners, as `partner list` shows them to the operator, each linking
    /// to its page; the onboarding form when the operator may add partners.
    func partners(_ s: SignedIn, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let partners = try g.partners(by: principal)
            var values: [String: Any] = [
                "rows": partners.map { p -> [String: Any] in
                    let v = g.view(p)
                    return ["id": v.id, "name": v.name, "role": v.role, "status": v.status, "version": v.agreementVersion,
                            "purposes": v.purposes.joined(separator: ", "), "validUntil": v.validUntil,
                            "certificateEnds": v.encryptionCertificate?.notAfter ?? ""]
                },
                "none": partners.isEmpty,
                "mayAdd": page.offered.contains(.partnerAdd),
            ]
            if let error { values["error"] = error }
            return views.render("partners", page, status: status, title: "title_partners", values)
        }
    }

    /// `GET /partners/ID`: the partner (`dl#partner`), its agreement versions
    /// (`table#agreement-versions`), certificates with days to expiry at the gateway's clock
    /// (`table#certificates`), pins and revocation lists; the suspend, resume and update forms
    /// when the operator's roles offer them.
    func partner(_ id: String, _ s: SignedIn, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let g = gateway, principal = s.principal, page = s.page, views = self.views
        return try await run {
            let d = try g.partnerDetail(id, by: principal)
            let v = d.view, a = d.partner.agreement
            let push = v.pushSFTP.map { "sftp://\($0.user)@\($0.host):\($0.port)\($0.path)" } ?? v.pushHTTPS?.url ?? ""
            var shown: [String: Any] = [
                "id": v.id, "name": v.name, "role": v.role, "status": v.status, "version": v.agreementVersion,
                "reference": v.agreementReference, "validUntil": v.validUntil, "onboarded": page.date(d.partner.onboardedAt),
                "purposes": v.purposes.joined(separator: ", "), "documentTypes": v.documentTypes.joined(separator: ", "),
                "retention": v.maxRetentionDays, "pull": v.pull.joined(separator: ", "), "push": push,
                "masking": v.masking.joined(separator: ", "),
                "noPull": v.pull.isEmpty, "noPush": push.isEmpty, "noMasking": v.masking.isEmpty,
            ]
            if let from = a.certificates.nextEncryptionFrom { shown["rotationFrom"] = from.description }
            var values: [String: Any] = [
                "partner": shown,
                "versions": d.versions.reversed().map { ver -> [String: Any] in
                    ["version": ver.version, "recorded": page.date(ver.recordedAt), "by": ver.recordedBy ?? "",
                     "reference": ver.reference, "validUntil": ver.validUntil, "change": ver.change ?? "",
                     "current": ver.version == d.partner.version]
                },
                "certificates": d.certificates.map { c -> [String: Any] in
                    ["name": c.name, "subject": c.subject, "issuer": c.issuer, "key": c.key, "sha256": c.sha256,
                     "notAfter": page.date(c.notAfter), "daysLeft": c.daysLeft, "ended": c.daysLeft <= 0, "soon": (1...30).contains(c.daysLeft)]
                },
                "tlsFingerprints": a.certificates.tlsClientFingerprints, "tlsSubjects": a.certificates.tlsClientSubjects,
                "sshKeys": v.sshKeys,
                "noPins": !a.certificates.pinsTLSClient && v.sshKeys.isEmpty && v.pushSFTP == nil,
                "crls": d.revocationLists.map { l -> [String: Any] in
                    ["issuer": l.issuer, "thisUpdate": page.date(l.thisUpdate), "nextUpdate": l.nextUpdate.map(page.date) ?? "",
                     "daysLeft": l.daysLeft.map(String.init) ?? "", "revoked": l.revoked]
                },
                "noCRL": d.revocationLists.isEmpty,
                "now": page.date(d.now),
                "maySuspend": page.offered.contains(.partnerSuspend) && d.partner.status == .active,
                "mayResume": page.offered.contains(.partnerResume) && d.partner.status == .suspended,
                "mayUpdate": page.offered.contains(.partnerUpdate) && d.partner.status != .removed,
            ]
            if !d.unreadable.isEmpty { values["unreadable"] = d.unreadable.joined(separator: ", ") }
            if let hostKey = v.pushSFTP?.hostKey { values["hostKey"] = hostKey }
            if let error { values["error"] = error }
            return views.render("partner", page, status: status, title: "partner_title", values)
        }
    }

    /// `POST /partners/ID/suspend` and `/resume` (`reason`): the operation `partner suspend` or
    /// `partner resume` calls; `303` back to the partner, or its page with the error.
    func changePartnerStatus(_ id: String, suspend: Bool, _ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        let g = gateway, principal = s.principal, reason = form.trimmed("reason").map { String($0.prefix(500)) }
        do {
            try await run {
                if suspend { try g.suspendPartner(id, reason: reason, by: principal) } else { try g.resumePartner(id, reason: reason, by: principal) }
            }
            return Self.redirect("/partners/" + ConsoleForm.queryEncoded(id))
        } catch let e as ClaimGateError where e.code != .notPermitted && e.code != .unknownPartner {
            return try await partner(id, s, error: e.message, status: Self.status(for: e.code))
        }
    }

    /// `POST /partners` (`partner add`) and `POST /partners/ID/update` (`partner update`), as
    /// `multipart/form-data`: the agreement YAML (`agreement`) and the files it names (`files`,
    /// matched by file name: `AgreementLoader.uploaded`). The `Origin` and the operator's right
    /// are checked before the body is read, the CSRF token after. `303` to the partner when the
    /// change applied, to `/pending/ID` when it waits for a second operator; the page again with
    /// the operation's sentence otherwise.
    func proposeAgreement(_ request: Request, _ context: ConsoleRequestContext, partner id: String?) async throws -> Response {
        var limits = MultipartFormReader.Configuration()
        limits.maxBodyBytes = min(maxUploadBytes, Self.agreementUploadBytes)
        limits.maxFileBytes = Self.agreementUploadFileBytes
        let g = gateway
        return try await uploadForm(request, context, limits: limits, authorize: { principal in
            try g.authorize(id == nil ? .partnerAdd : .partnerUpdate, partner: id.flatMap { try? PartnerID($0) }, by: principal)
        }) { s, form, _ in
            try await proposeAgreement(s, form, partner: id)
        }
    }

    /// The checked agreement upload: the change it proposes.
    private func proposeAgreement(_ s: SignedIn, _ form: MultipartForm, partner id: String?) async throws -> Response {
        let g = gateway, principal = s.principal
        let agreement = form.files("agreement").first
        let extra = form.files("files").filter { $0.size > 0 || !$0.filename.isEmpty }
        do {
            guard let agreement else {
                throw ClaimGateError(.invalidArgument, "Choose the agreement file (YAML) to upload.")
            }
            let outcome = try await run { () throws -> ChangeOutcome<Partner> in
                func read(_ f: MultipartFile) throws -> Data {
                    guard let data = FileManager.default.contents(atPath: f.path) else {
                        throw ClaimGateError(.io, "Cannot read the uploaded file back from the scratch folder: check the gateway home's disk.")
                    }
                    return data
                }
                var files: [String: Data] = [:]
                for f in extra where files[f.filename] == nil { files[f.filename] = try read(f) }
                let (path, inputs) = AgreementLoader.uploaded(agreement: agreement.filename, try read(agreement), files: files)
                if let id {
                    return try g.updatePartner(agreementFile: path, files: inputs, expecting: id, by: principal)
                }
                return try g.addPartner(agreementFile: path, files: inputs, by: principal)
            }
            switch outcome {
            case .applied(let p): return Self.redirect("/partners/" + ConsoleForm.queryEncoded(p.id.rawValue))
            case .pending(let c): return Self.redirect("/pending/" + ConsoleForm.queryEncoded(c.id.rawValue))
            }
        } catch let e as ClaimGateError where e.code != .notPermitted {
            if let id, e.code != .unknownPartner {
                return try await partner(id, s, error: e.message, status: Self.status(for: e.code))
            }
            return try await partners(s, error: e.message, status: Self.status(for: e.code))
        } catch let e as ClaimGateError {
            return Self.errorResponse(e, s.page, views)
        }
    }
}
