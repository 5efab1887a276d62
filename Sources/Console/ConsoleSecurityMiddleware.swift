import ClaimGateCore
import Foundation
import Hummingbird
import Logging

/// The first step of every console request: whatever a route answers, or throws, leaves with
/// the console's security headers: a Content-Security-Policy with no script at all and no
/// `unsafe-inline` (the console has no JavaScript), no sniffing, no referrer to other origins, no
/// framing, HSTS,
/// and `Cache-Control: no-store` unless the response chose otherwise (the stylesheet). An error
/// no route turned into a page (an unknown path, a body too large, a failure) becomes an error
/// page here, in the request's language; internal detail goes to the log only.
struct ConsoleSecurityMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext
    let views: ConsoleViews
    let logger: Logger
    let defaultTimeZone: TimeZone

    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// The headers every response carries.
    static let headers: HTTPFields = [
        .contentSecurityPolicy: contentSecurityPolicy,
        HTTPFields.Element.Name("X-Content-Type-Options")!: "nosniff",
        // Not `no-referrer`: under it browsers send `Origin: null` on the console's own form
        // posts (Fetch, "serialize a request origin"), and the Origin check would refuse them.
        // `same-origin` sends no referrer to any other origin either.
        HTTPFields.Element.Name("Referrer-Policy")!: "same-origin",
        HTTPFields.Element.Name("X-Frame-Options")!: "DENY",
        HTTPFields.Element.Name("Strict-Transport-Security")!: "max-age=31536000",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = errorPage(error, request)
        }
        for field in Self.headers { response.headers[field.name] = field.value }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    /// The page for an error that reached here: its status, and a sentence safe to show.
    private func errorPage(_ error: any Error, _ request: Request) -> Response {
        let page = ConsolePage(language: ConsoleLanguage.preferred(cookie: request.cookies[ConsoleCookies.language]?.value,
                                                                   acceptLanguage: request.headers[.acceptLanguage]),
                               timeZone: defaultTimeZone, path: "/")
        let t = views.catalogue(page.language)
        switch error {
        case let e as ClaimGateError:
            logger.info("console request failed", metadata: ["error.code": "\(e.code)", "reason": "\(e.refusal?.rawValue ?? "-")"])
            return ConsoleRoutes.errorResponse(e, page, views)
        case let e as any HTTPResponseError:
            let (status, key): (HTTPResponse.Status, String) = switch e.status {
            case .notFound: (.notFound, "error_not_found")
            case .contentTooLarge: (.contentTooLarge, "error_too_large")
            case .methodNotAllowed: (.methodNotAllowed, "error_method")
            default: (e.status, "error_bad_request")
            }
            return views.render("error", page, status: status, title: "title_error", ["error": t.text(key)])
        default:
            logger.error("a console request failed", metadata: ["error": "\(type(of: error))"])
            return views.render("error", page, status: .internalServerError, title: "title_error", ["error": t.text("error_internal")])
        }
    }
}
