import Hummingbird
import Logging

/// The first step of every request to the partner API, and the only one for a request no route
/// serves: a path the API does not serve is `404`, a method its path does not serve is `405` with
/// `Allow` (`OPTIONS` included, and `HEAD` where there is no `GET`), and an error a route throws (a body past a route's
/// limit, an internal failure) becomes a problem document with its status, never Hummingbird's
/// plain default. Which routes exist is `PartnerRoutes.endpoints`, the table `register` adds.
/// Who may learn that a path exists is judged first, as on every route (`PartnerRoutes.notServed`).
struct PartnerProblemMiddleware: RouterMiddleware {
    typealias Context = PartnerRequestContext
    let routes: PartnerRoutes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The table is read once per request: for 404/405 and for the access line's route.
        let matched = PartnerRoutes.endpoints(servingPath: request.uri.path)
        let response = await answer(request, served: matched.map(\.method), context: context, next: next)
        // One access line per request; a download writes its own once its body is sent. The
        // route, never the partner's own spelling of the path (that goes to the audit trail
        // only, escaped); `(other)` for a path no route serves.
        if !context.access.deferred {
            let name = "\(request.method.rawValue) \(matched.first?.path ?? "(other)")"
            routes.exchange.accessed(context.access.record(clientAddress: context.clientAddress, request: name,
                                                           bytes: context.access.bytes ?? Int64(response.body.contentLength ?? 0), status: response.status.code))
        }
        return response
    }

    private func answer(_ request: Request, served: [HTTPRequest.Method], context: Context,
                        next: (Request, Context) async throws -> Response) async -> Response {
        guard served.contains(request.method) else {
            let response = await routes.notServed(request, context, allow: served)
            // A HEAD answer has no content (RFC 9110 §9.3.2).
            return request.method == .head ? response.createHeadResponse() : response
        }
        do {
            return try await next(request, context)
        } catch {
            return routes.problem(thrown: error)
        }
    }
}
