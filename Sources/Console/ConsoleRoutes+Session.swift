import ClaimGateCore
import Foundation
import Hummingbird
import Operations

/// A request from a logged-in operator: its session (from `__Host-claimgate-session`) and the
/// page state with the operator, the pages it is offered and the session's CSRF token.
struct SignedIn: Sendable {
    let session: ConsoleSession
    var page: ConsolePage
    var principal: Principal { session.principal }
}

/// Login, logout, the session every page needs, and the checks every form passes: the same
/// `Origin` and a CSRF token compared in constant time.
extension ConsoleRoutes {
    // MARK: Login

    /// `GET /login`: the login form, with a fresh login CSRF token in `__Host-claimgate-login`
    /// and in the form (double submit). A browser already logged in goes to the dashboard.
    func loginPage(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        if try await session(request) != nil { return Self.redirect("/") }
        return loginForm(basePage(request), status: .ok, error: nil, name: "")
    }

    /// The login form with a new token; `error` shown in `p#error`.
    private func loginForm(_ page: ConsolePage, status: HTTPResponse.Status, error: String?, name: String) -> Response {
        var page = page
        page.csrf = ConsoleCookies.randomToken()
        var values: [String: Any] = ["operatorName": name]
        if let error { values["error"] = error }
        var response = views.render("login", page, status: status, title: "title_login", values)
        response.setCookie(ConsoleCookies.make(ConsoleCookies.login, page.csrf))
        return response
    }

    /// `POST /login`: the `Origin` and the login token first (a refusal is recorded, with no
    /// operator), then `Gateway.consoleLogin` with name, password and TOTP: a session cookie and
    /// `303` to the dashboard, or `401` with the form again and the reason.
    func login(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let page = basePage(request)
        if let refused = try await refuseForeignOrigin(request, context, page, by: nil) { return refused }
        let form = try await ConsoleForm.read(request)
        let expected = request.cookies[ConsoleCookies.login]?.value ?? ""
        guard ConsoleCookies.constantTimeEqual(form["csrf"] ?? "", expected) else {
            return try await refuseCSRF(request, context, page, by: nil)
        }
        let name = form["operator"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let password = form["password"] ?? "", totp = form["totp"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let g = gateway, address = context.clientAddress
        // Too many failures from this address this minute: refused before anything is checked.
        switch loginThrottle.decide(address, at: Date()) {
        case .refuse(let record, _):
            if record { try await run { try g.recordThrottledLogins(name: name, count: 1, from: address) } }
            let t = views.catalogue(page.language)
            return loginForm(page, status: .tooManyRequests, error: t.text("error_login_throttled"), name: String(name.prefix(64)))
        case .admit(let owed):
            if owed > 0 { try await run { try g.recordThrottledLogins(name: nil, count: owed, from: address) } }
        }
        do {
            let session = try await run { try g.consoleLogin(operator: name, password: password, totp: totp, from: address) }
            var response = Self.redirect("/")
            response.setCookie(ConsoleCookies.make(ConsoleCookies.session, session.token))
            response.setCookie(ConsoleCookies.remove(ConsoleCookies.login))
            return response
        } catch let e as ClaimGateError where e.code == .notPermitted || e.code == .invalidArgument || e.code == .unknownOperator {
            // A wrong name, password or code reads the same (nothing tells which was wrong); a
            // lock or suspension is said as the operation words it.
            loginThrottle.failed(address, at: Date())
            let t = views.catalogue(page.language)
            let sentence = e.refusal == .loginFailed || e.code == .unknownOperator ? t.text("error_login_failed") : e.message
            return loginForm(page, status: .unauthorized, error: sentence, name: String(name.prefix(64)))
        }
    }

    /// `POST /logout`: ends the session (checked like every form) and clears its cookie.
    func logout(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        try await action(request, context) { signedIn, _ in
            let g = gateway, token = signedIn.session.token
            try await run { try g.consoleLogout(token: token) }
            var response = Self.redirect("/login")
            response.setCookie(ConsoleCookies.remove(ConsoleCookies.session))
            return response
        }
    }

    // MARK: Sessions

    /// The session the request's cookie names, when it is live (`consoleSession` touches it).
    func session(_ request: Request) async throws -> ConsoleSession? {
        guard let token = request.cookies[ConsoleCookies.session]?.value, !token.isEmpty, token.utf8.count <= 256 else { return nil }
        let g = gateway
        return try await run { try g.consoleSession(token: token) }
    }

    /// The logged-in request, with the pages its operator's roles offer; nil without a live session.
    func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let session = try await session(request) else { return nil }
        let g = gateway, principal = session.principal
        let offered = try await run { try g.offeredActions(for: principal) }
        var page = basePage(request)
        page.operatorName = session.operatorID.description
        page.offered = offered
        page.csrf = session.csrfToken
        return SignedIn(session: session, page: page)
    }

    /// A page for logged-in operators: `303` to `/login` without a session; an operation's
    /// error shown as `errorResponse` shows it, with the navigation.
    func page(_ request: Request, _ context: ConsoleRequestContext,
              _ body: (SignedIn) async throws -> Response) async throws -> Response {
        guard let signedIn = try await signedIn(request) else { return Self.redirect("/login") }
        do { return try await body(signedIn) } catch let e as ClaimGateError {
            return Self.errorResponse(e, signedIn.page, views)
        }
    }

    /// A form a logged-in operator posts (`application/x-www-form-urlencoded`): its `Origin` must
    /// be this console's and its `csrf` the session's token, or it is refused (`403`, recorded).
    func action(_ request: Request, _ context: ConsoleRequestContext,
                _ body: (SignedIn, ConsoleForm) async throws -> Response) async throws -> Response {
        guard let signedIn = try await signedIn(request) else { return Self.redirect("/login") }
        if let refused = try await refuseForeignOrigin(request, context, signedIn.page, by: signedIn.principal) { return refused }
        let form = try await ConsoleForm.read(request)
        guard ConsoleCookies.constantTimeEqual(form["csrf"] ?? "", signedIn.session.csrfToken) else {
            return try await refuseCSRF(request, context, signedIn.page, by: signedIn.principal)
        }
        do { return try await body(signedIn, form) } catch let e as ClaimGateError {
            return Self.errorResponse(e, signedIn.page, views)
        }
    }

    // MARK: Origin and CSRF

    /// This console's origin as the browser names it: `https://` and the request's `Host`.
    static func ownOrigin(_ request: Request) -> String? {
        guard let host = request.head.authority, !host.isEmpty else { return nil }
        return "https://" + host.lowercased()
    }

    /// `403` (recorded as `foreign-origin`) when the request's `Origin` is absent or not this
    /// console's; nil when it is.
    func refuseForeignOrigin(_ request: Request, _ context: ConsoleRequestContext, _ page: ConsolePage,
                             by principal: Principal?) async throws -> Response? {
        if let origin = request.headers[.origin]?.lowercased(), let own = Self.ownOrigin(request), origin == own { return nil }
        let g = gateway, path = request.uri.path, address = context.clientAddress
        try await run { try g.recordConsoleRefusal(.foreignOrigin, path: path, by: principal, from: address) }
        let t = views.catalogue(page.language)
        return Self.errorResponse(ClaimGateError(.notPermitted, t.text("error_foreign_origin"), refusal: .foreignOrigin), page, views)
    }

    /// `403` (recorded as `csrf-refused`) for a form without the right token.
    func refuseCSRF(_ request: Request, _ context: ConsoleRequestContext, _ page: ConsolePage,
                    by principal: Principal?) async throws -> Response {
        let g = gateway, path = request.uri.path, address = context.clientAddress
        try await run { try g.recordConsoleRefusal(.csrfRefused, path: path, by: principal, from: address) }
        let t = views.catalogue(page.language)
        return Self.errorResponse(ClaimGateError(.notPermitted, t.text("error_csrf"), refusal: .csrfRefused), page, views)
    }

    // MARK: Preferences

    /// `GET /preferences`: the time zone dates are shown in.
    func preferences(_ s: SignedIn) async throws -> Response {
        views.render("preferences", s.page, title: "title_preferences",
                     ["timeZone": s.page.timeZone.identifier, "now": s.page.date(gateway.clock.now)])
    }

    /// `POST /preferences`: keeps a valid IANA time zone in `__Host-claimgate-tz`.
    func savePreferences(_ s: SignedIn, _ form: ConsoleForm) async throws -> Response {
        guard let raw = form.trimmed("timezone"), let zone = ConsoleDates.zone(raw) else {
            let t = views.catalogue(s.page.language)
            return views.render("preferences", s.page, status: .badRequest, title: "title_preferences",
                                ["timeZone": form.trimmed("timezone") ?? "", "now": s.page.date(gateway.clock.now),
                                 "error": t.text("error_time_zone")])
        }
        var response = Self.redirect("/preferences")
        response.setCookie(ConsoleCookies.make(ConsoleCookies.timeZone, zone.identifier, maxAge: ConsoleCookies.preferenceMaxAge))
        return response
    }
}
