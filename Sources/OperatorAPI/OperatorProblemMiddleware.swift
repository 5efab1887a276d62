import ClaimGateCore
import Hummingbird
import Logging

/// The first step of every operator API request: a path the API does not serve is `404`, a
/// method its path does not serve `405` with `Allow`, and every error a route throws becomes a
/// problem document (`OperatorProblem`): a `ClaimGateError` with its code's status, anything
/// else `500` with the error in the server log only.
struct OperatorProblemMiddleware: RouterMiddleware {
    typealias Context = OperatorRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let served = OperatorRoutes.endpoints(servingPath: request.uri.path).map(\.method)
        guard !served.isEmpty else {
            return OperatorProblem.response(.notFound, "There is no such resource: the operator API is described in docs/operator-api.yaml.")
        }
        guard served.contains(request.method) else {
            let methods = served.map(\.rawValue).joined(separator: ", ")
            var response = OperatorProblem.response(.methodNotAllowed, "This resource answers \(methods) only.")
            response.headers[.allow] = methods
            return response
        }
        do {
            return try await next(request, context)
        } catch let e as ClaimGateError {
            logger.info("operator API request failed", metadata: ["error.code": "\(e.code)", "reason": "\(e.refusal?.rawValue ?? "-")"])
            return OperatorProblem.response(for: e)
        } catch let e as any HTTPResponseError {
            switch e.status {
            case .contentTooLarge: return OperatorProblem.response(.contentTooLarge, "The request body is larger than this resource accepts.")
            default: return OperatorProblem.response(e.status, "The request could not be served.")
            }
        } catch {
            logger.error("an operator API request failed", metadata: ["error": "\(error)"])
            return OperatorProblem.response(.internalServerError, "The request could not be completed; try again later.", code: .io)
        }
    }
}
