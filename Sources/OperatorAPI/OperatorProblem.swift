import ClaimGateCore
import Foundation
import Hummingbird
import NIOCore

/// What an operator sees of an error: an RFC 9457 problem document (`application/problem+json`)
/// with the same `code` the command line reports (`ClaimGateError.Code`), the policy's `reason`
/// for a refusal, and `exit_status`, the status the command line exits with for that code. The
/// HTTP status of every code is the one table below.
enum OperatorProblem {
    /// The HTTP status for each error code: one table, for every route.
    static func status(for code: ClaimGateError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidArgument, .invalidAgreement: .badRequest
        case .policyRefused, .changeExpired, .changeOutdated: .unprocessableContent
        case .changeNotPending, .deliverySettled: .conflict
        case .bundleRejected: .conflict
        case .unknownPartner, .unknownBundle, .unknownOperator, .unknownChange, .unknownDelivery, .unreadableInput: .notFound
        case .partnerExists, .operatorExists, .alreadyInitialised: .conflict
        case .notPermitted: .forbidden
        case .notInitialised, .auditUnavailable: .serviceUnavailable
        case .io: .internalServerError
        }
    }

    struct Document: Codable {
        var type = "about:blank"
        var title: String
        var status: Int
        var detail: String
        var code: String
        var reason: String?
        var exit_status: Int32
    }

    /// The problem document of an error an operation threw.
    static func response(for error: ClaimGateError) -> Response {
        let status = status(for: error.code)
        var response = make(status, Document(title: status.reasonPhrase, status: status.code, detail: error.message,
                                            code: error.code.rawValue, reason: error.refusal?.rawValue, exit_status: error.code.exitStatus))
        if error.code == .auditUnavailable { response.headers[.retryAfter] = "30" }
        return response
    }

    /// A problem the API itself finds (no such route, a method the route does not serve, a
    /// body that is not what the route takes), with the code the command line would report.
    static func response(_ status: HTTPResponse.Status, _ detail: String, code: ClaimGateError.Code = .invalidArgument) -> Response {
        make(status, Document(title: status.reasonPhrase, status: status.code, detail: detail, code: code.rawValue,
                              reason: nil, exit_status: code.exitStatus))
    }

    private static func make(_ status: HTTPResponse.Status, _ document: Document) -> Response {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? e.encode(document)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/problem+json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
