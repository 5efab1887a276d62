import ClaimGateCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Operations

/// The console's routes: each page or form translates a request into `Gateway` operations,
/// acting as the session's operator (`ConsoleSession.principal`), and renders the result with a
/// template. Policy is the operations' (a refusal is theirs to record); what an error looks like
/// is `errorResponse`'s.
struct ConsoleRoutes: Sendable {
    let gateway: Gateway
    let views: ConsoleViews
    let logger: Logger
    /// Threads for the operations (files, database, durable commits): the concurrency pool
    /// never blocks on them.
    let blocking: NIOThreadPool
    let maxUploadBytes: Int64
    /// Dates are shown in this zone until the operator picks one.
    let defaultTimeZone: TimeZone
    /// Failed sign-ins per client address (`ConsoleLoginThrottle`).
    let loginThrottle = ConsoleLoginThrottle()

    func register(on router: Router<ConsoleRequestContext>) {
        router.add(middleware: ConsoleSecurityMiddleware(views: views, logger: logger, defaultTimeZone: defaultTimeZone))
        router.get("/static/console.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: views.stylesheet)))
        }
        router.get("/language") { request, _ in switchLanguage(request) }
        router.get("/login") { request, context in try await loginPage(request, context) }
        router.post("/login") { request, context in try await login(request, context) }
        router.post("/logout") { request, context in try await logout(request, context) }
        router.get("/preferences") { request, context in try await page(request, context) { try await preferences($0) } }
        router.post("/preferences") { request, context in try await action(request, context) { try await savePreferences($0, $1) } }
        router.get("/") { request, context in try await page(request, context) { try await dashboard($0) } }
        router.get("/send") { request, context in try await page(request, context) { try await sendPage(request, $0) } }
        router.post("/send") { request, context in try await send(request, context) }
        router.get("/bundles") { request, context in try await page(request, context) { try await bundles(request, $0) } }
        router.get("/bundles/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await page(request, context) { try await bundle(id, $0) }
        }
        router.post("/bundles/:id/recall") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await action(request, context) { try await recall(id, $0, $1) }
        }
        router.get("/deliveries") { request, context in try await page(request, context) { try await deliveries(request, $0) } }
        router.post("/deliveries/:bundle/retry") { request, context in
            let bundle = context.parameters.get("bundle") ?? ""
            return try await action(request, context) { try await changeDelivery(bundle, cancel: false, request, $0, $1) }
        }
        router.post("/deliveries/:bundle/cancel") { request, context in
            let bundle = context.parameters.get("bundle") ?? ""
            return try await action(request, context) { try await changeDelivery(bundle, cancel: true, request, $0, $1) }
        }
        router.get("/inbox") { request, context in try await page(request, context) { try await inbox($0) } }
        router.get("/inbox/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await page(request, context) { try await inboxReport(id, $0) }
        }
        router.post("/inbox/:id/export") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await action(request, context) { try await exportInbox(id, $0, $1) }
        }
        router.get("/purge") { request, context in try await page(request, context) { try await purgePage($0) } }
        router.post("/purge") { request, context in try await action(request, context) { try await purge($0, $1) } }
        router.get("/partners") { request, context in try await page(request, context) { try await partners($0) } }
        router.post("/partners") { request, context in try await proposeAgreement(request, context, partner: nil) }
        router.get("/partners/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await page(request, context) { try await partner(id, $0) }
        }
        router.post("/partners/:id/suspend") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await action(request, context) { try await changePartnerStatus(id, suspend: true, $0, $1) }
        }
        router.post("/partners/:id/resume") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await action(request, context) { try await changePartnerStatus(id, suspend: false, $0, $1) }
        }
        router.post("/partners/:id/update") { request, context in
            try await proposeAgreement(request, context, partner: context.parameters.get("id") ?? "")
        }
        router.get("/pending") { request, context in try await page(request, context) { try await pendingChanges($0) } }
        router.get("/pending/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await page(request, context) { try await pendingChange(id, $0) }
        }
        router.post("/pending/:id/approve") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await action(request, context) { try await approveChange(id, $0, $1) }
        }
        router.post("/pending/:id/withdraw") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await action(request, context) { try await withdrawChange(id, $0, $1) }
        }
        router.get("/operators") { request, context in try await page(request, context) { try await operators($0) } }
        router.post("/operators") { request, context in try await action(request, context) { try await addOperator($0, $1) } }
        router.get("/operators/:name") { request, context in
            let name = context.parameters.get("name") ?? ""
            return try await page(request, context) { try await operatorPage(name, $0) }
        }
        router.post("/operators/:name/grant") { request, context in
            let name = context.parameters.get("name") ?? ""
            return try await action(request, context) { try await changeOperatorRight(name, revoke: false, $0, $1) }
        }
        router.post("/operators/:name/revoke") { request, context in
            let name = context.parameters.get("name") ?? ""
            return try await action(request, context) { try await changeOperatorRight(name, revoke: true, $0, $1) }
        }
        router.post("/operators/:name/suspend") { request, context in
            let name = context.parameters.get("name") ?? ""
            return try await action(request, context) { try await changeOperatorState(name, suspend: true, $0, $1) }
        }
        router.post("/operators/:name/resume") { request, context in
            let name = context.parameters.get("name") ?? ""
            return try await action(request, context) { try await changeOperatorState(name, suspend: false, $0, $1) }
        }
        router.get("/audit") { request, context in try await page(request, context) { try await audit($0) } }
        router.get("/audit/report") { request, context in try await page(request, context) { try await auditReport(request, $0) } }
        router.get("/audit/report.csv") { request, context in try await page(request, context) { try await auditReportCSV(request, $0) } }
        router.get("/audit/impact") { request, context in try await page(request, context) { try await auditImpact(request, $0) } }
        router.get("/audit/impact.csv") { request, context in try await page(request, context) { try await auditImpactCSV(request, $0) } }
    }

    // MARK: Requests

    /// Runs an operation on the blocking pool.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await blocking.runIfActive(body)
    }

    /// The page state every request starts from: its language (the switch cookie, else
    /// `Accept-Language`), its time zone (the operator's cookie, else the configured one) and
    /// its path.
    func basePage(_ request: Request) -> ConsolePage {
        let cookies = request.cookies
        let language = ConsoleLanguage.preferred(cookie: cookies[ConsoleCookies.language]?.value,
                                                 acceptLanguage: request.headers[.acceptLanguage])
        let zone = cookies[ConsoleCookies.timeZone].flatMap { ConsoleDates.zone($0.value) } ?? defaultTimeZone
        return ConsolePage(language: language, timeZone: zone, path: request.uri.description)
    }

    /// `303 See Other` to a local path.
    static func redirect(_ path: String) -> Response {
        Response(status: .seeOther, headers: [.location: path])
    }

    /// `GET /language?to=zh-CN&back=/path`: keeps the choice in `__Host-claimgate-lang` and goes
    /// back (to a path on this console only; anything else goes to `/`).
    func switchLanguage(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        var response = Self.redirect(Self.localPath(query.get("back")))
        if let to = query.get("to"), let language = ConsoleLanguage(rawValue: to) {
            response.setCookie(ConsoleCookies.make(ConsoleCookies.language, language.rawValue, maxAge: ConsoleCookies.preferenceMaxAge))
        }
        return response
    }

    /// `raw` when it is a path on this console (`/…`, not `//host` or `/\host`, no control
    /// characters); `/` otherwise, so a link can never send the browser elsewhere.
    static func localPath(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.hasPrefix("/\\"), raw.utf8.count <= 2048,
              raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && $0 != "\\" }) else { return "/" }
        return raw
    }

    // MARK: Errors

    /// The page for an error an operation threw: `not-permitted` is `403` (the operation recorded
    /// the refusal), an unknown bundle, partner… `404`, a refused or invalid request `400`, the
    /// trail not writable `503`; the error's sentence as the command line prints it.
    static func errorResponse(_ e: ClaimGateError, _ page: ConsolePage, _ views: ConsoleViews) -> Response {
        let status = status(for: e.code)
        return views.render("error", page, status: status, title: status == .forbidden ? "title_forbidden" : "title_error",
                            ["error": e.message])
    }

    static func status(for code: ClaimGateError.Code) -> HTTPResponse.Status {
        switch code {
        case .notPermitted: return .forbidden
        case .unknownPartner, .unknownBundle, .unknownOperator, .unknownChange, .unknownDelivery: return .notFound
        case .invalidArgument, .invalidAgreement, .policyRefused, .bundleRejected, .unreadableInput: return .badRequest
        case .partnerExists, .operatorExists, .changeExpired, .changeNotPending, .changeOutdated, .deliverySettled,
             .alreadyInitialised: return .conflict
        case .auditUnavailable: return .serviceUnavailable
        case .io, .notInitialised: return .internalServerError
        }
    }
}
