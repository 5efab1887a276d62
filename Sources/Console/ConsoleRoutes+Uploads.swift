import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// The `multipart/form-data` forms (send, agreement uploads): checked and read in one order.
extension ConsoleRoutes {
    /// A form with files a signed-in operator posts: its `Origin` and `authorize` (whether the
    /// operator may do this at all) are checked before the body is read, so a refused operator
    /// uploads nothing; the body is then streamed into a scratch folder of the request's own
    /// (`scratch/console/<uuid>`, 0700, removed when `body` returns), and the session's CSRF
    /// token read from it. `body` gets the form and the folder.
    func uploadForm(_ request: Request, _ context: ConsoleRequestContext, limits: MultipartFormReader.Configuration,
                    authorize: @escaping @Sendable (Principal) throws -> Void,
                    _ body: (SignedIn, MultipartForm, String) async throws -> Response) async throws -> Response {
        guard let s = try await signedIn(request) else { return Self.redirect("/login") }
        if let refused = try await refuseForeignOrigin(request, context, s.page, by: s.principal) { return refused }
        let g = gateway, principal = s.principal
        do {
            try await run { try authorize(principal) }
        } catch let e as ClaimGateError {
            return Self.errorResponse(e, s.page, views)
        }
        let folder = gateway.home.scratch + "/console/" + UUID().uuidString.lowercased()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await run {
            try FileSystem.makeDirectory(g.home.scratch, mode: 0o700)
            try FileSystem.makeDirectory(g.home.scratch + "/console", mode: 0o700)
            try FileSystem.makeDirectory(folder, mode: 0o700)
        }
        let form: MultipartForm
        do {
            let reader = try MultipartFormReader(contentType: request.headers[.contentType], directory: folder + "/parts", configuration: limits)
            form = try await reader.read(request.body, blocking: blocking)
        } catch let e as ClaimGateError {
            return Self.errorResponse(e, s.page, views)
        }
        guard ConsoleCookies.constantTimeEqual(form[field: "csrf"] ?? "", s.session.csrfToken) else {
            return try await refuseCSRF(request, context, s.page, by: s.principal)
        }
        return try await body(s, form, folder)
    }
}
