import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// `POST /send`: the upload form, read as `multipart/form-data` and streamed to files in the
/// gateway's scratch folder (never held in memory), then sealed and queued by `Gateway.seal`,
/// the operation `claimgate send` calls.
extension ConsoleRoutes {
    /// Checks the `Origin` and that the operator may send at all (`authorizeUpload`) before the
    /// body is read; then the session's CSRF token from the form; then seals. `303` to the new
    /// bundle, or the form again with what was typed and the operation's sentence in `p#error`.
    func send(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        var limits = MultipartFormReader.Configuration()
        limits.maxBodyBytes = maxUploadBytes
        limits.maxFileBytes = maxUploadBytes
        let g = gateway
        return try await uploadForm(request, context, limits: limits, authorize: { try g.authorizeUpload(by: $0) }) { s, form, folder in
            try await send(s, form, folder)
        }
    }

    /// The checked send form: seals what it carries.
    private func send(_ s: SignedIn, _ form: MultipartForm, _ folder: String) async throws -> Response {
        let g = gateway, principal = s.principal
        func field(_ name: String) -> String { (form[field: name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let partner = String(field("partner").prefix(64))
        let typed = ["claim": field("claim"), "purpose": field("purpose"), "ttl": field("ttl"), "expires": field("expires"),
                     "metadata": form[field: "metadata"] ?? ""]
        let files = form.files("documents").filter { $0.size > 0 || !$0.filename.isEmpty }
        do {
            let expiry: ExpirySpec
            switch (typed["ttl"]!.isEmpty, typed["expires"]!.isEmpty) {
            case (true, true): throw ClaimGateError(.invalidArgument, "Give a time to live (such as 7d) or an expiry date.")
            case (false, false): throw ClaimGateError(.invalidArgument, "Give a time to live or an expiry date, not both.")
            case (false, true): expiry = try ExpirySpec.ttl(typed["ttl"]!)
            case (true, false): expiry = try ExpirySpec.expires(typed["expires"]!)
            }
            let metadata = try Self.metadata(typed["metadata"]!)
            let id = try await run { () throws -> String in
                // Each document under its own name, in a folder of its own (two of one name are
                // the operation's to refuse).
                var paths: [String] = []
                for (index, file) in files.enumerated() {
                    let dir = folder + "/documents/\(index)"
                    try FileSystem.makeDirectory(folder + "/documents", mode: 0o700)
                    try FileSystem.makeDirectory(dir, mode: 0o700)
                    let path = dir + "/" + file.filename
                    guard link(file.path, path) == 0 else {
                        throw ClaimGateError(.io, "Cannot stage the uploaded documents in the scratch folder: check the gateway home's disk.")
                    }
                    paths.append(path)
                }
                let order = SealOrder(partner: partner, claimID: typed["claim"]!, purpose: typed["purpose"]!, expiry: expiry,
                                      metadata: metadata, documents: paths)
                return try g.seal(order, to: .outbox, by: principal).id.description
            }
            return Self.redirect("/bundles/" + id)
        } catch let e as ClaimGateError where e.code != .notPermitted {
            var values = typed
            values["error"] = e.message
            return try await sendForm(s, partner: partner.isEmpty ? nil : partner, values: values, status: Self.status(for: e.code))
        } catch let e as ClaimGateError {
            return Self.errorResponse(e, s.page, views)
        }
    }
}
