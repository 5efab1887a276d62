import ClaimGateCore
import ClaimGateTesting
@testable import Console
import Foundation
@testable import Operations
import Testing

/// Signing in and acting through a real console with stock `curl` (a cookie jar, as a browser
/// keeps them): the session cookie, pages by role (and `403`, recorded, outside them), the
/// `Origin` and CSRF checks, logout, a wrong password.
@Suite(.serialized) struct ConsoleSessionTests {
    static let password = "correct horse battery"
    let console: ConsoleTestServer
    var gateway: Gateway { console.gateway }
    static let shell = Principal.local(uid: 1000, name: "test")

    init() throws {
        console = try ConsoleTestServer()
        for (name, roles) in [("claire", Set([Role.claimsOperator])), ("audrey", [.auditor])] {
            _ = try console.gateway.addOperator(name, roles: roles, by: Self.shell).requireApplied()
            try console.enrol(name, password: Self.password)
        }
    }

    /// The operator's TOTP code, `offset` steps from now (`ConsoleTestServer.code`).
    func code(_ name: String, offset: Int64 = 0) throws -> String { try console.code(name, offset: offset) }

    /// A browser: one cookie jar for every request.
    struct Browser {
        let console: ConsoleTestServer
        let port: Int
        let jar: String
        var origin: String { "https://127.0.0.1:\(port)" }

        func get(_ path: String, _ extra: [String] = []) async throws -> Answer {
            try await console.curl(port, path, ["-b", jar, "-c", jar] + extra)
        }

        func post(_ path: String, _ fields: [String: String], origin: String? = nil) async throws -> Answer {
            var args = ["-b", jar, "-c", jar, "-X", "POST"]
            if let origin = origin ?? Optional(self.origin), !origin.isEmpty { args += ["-H", "Origin: \(origin)"] }
            for (k, v) in fields.sorted(by: { $0.key < $1.key }) { args += ["--data-urlencode", "\(k)=\(v)"] }
            return try await console.curl(port, path, args)
        }

        /// The `csrf` value of the first form of a page.
        static func csrf(_ body: String) -> String {
            guard let r = body.range(of: "name=\"csrf\" value=\"") else { return "" }
            return String(body[r.upperBound...].prefix { $0 != "\"" })
        }

        func signIn(_ name: String, password: String, totp: String) async throws -> Answer {
            let form = try await get("/login")
            return try await post("/login", ["operator": name, "password": password, "totp": totp, "csrf": Self.csrf(form.body)])
        }
    }

    func browser(_ port: Int) -> Browser {
        Browser(console: console, port: port, jar: console.dir.file("jar-\(UUID().uuidString.prefix(8))"))
    }

    func refusals(_ reason: String) throws -> [StoredEvent] {
        try gateway.store.events().filter { $0.action == "operator-refused" && $0.reasonCode == reason }
    }

    @Test(.timeLimit(.minutes(3)))
    func aClaimsOperatorSignsInAndSeesItsPages() async throws {
        try await console.serve { port in
            let b = browser(port)
            let signedIn = try await b.signIn("claire", password: Self.password, totp: try code("claire"))
            #expect(signedIn.status == 303)
            #expect(signedIn.headers["location"] == "/")
            let session = try #require(signedIn.cookie("__Host-claimgate-session"))
            #expect(session.attributes.isSuperset(of: ["secure", "httponly", "samesite=strict", "path=/"]))
            #expect(!session.attributes.contains { $0.hasPrefix("max-age") || $0.hasPrefix("expires") || $0.hasPrefix("domain") })

            let home = try await b.get("/")
            #expect(home.status == 200)
            for id in ["nav", "nav-dashboard", "nav-send", "nav-bundles", "nav-deliveries", "nav-inbox", "nav-partners", "logout-form", "logout-submit"] {
                #expect(home.body.contains("id=\"\(id)\""), "\(id)")
            }
            #expect(!home.body.contains("id=\"nav-audit\"") && !home.body.contains("id=\"nav-operators\""))
            #expect(home.headers["content-security-policy"] == ConsoleServerTests.csp)
            let send = try await b.get("/send")
            #expect(send.status == 200)
            #expect(send.body.contains("id=\"send-partner\"") && send.body.contains("id=\"send-partner-submit\""))
            let bundles = try await b.get("/bundles")
            #expect(bundles.status == 200)
            #expect(bundles.body.contains("id=\"bundle-search\"") && bundles.body.contains("id=\"bundles\""))
            // The audit page is outside its roles, also by URL: 403, recorded.
            let audit = try await b.get("/audit")
            #expect(audit.status == 403)
            #expect(audit.body.contains("id=\"page-title\"") && audit.body.contains("id=\"error\""))
            #expect(try refusals("role-missing").contains { $0.actor.hasPrefix("operator:claire;session=") && $0.transport == "console" })

            // Log out: the session ends, and the cookie with it.
            let logout = try await b.post("/logout", ["csrf": Browser.csrf(home.body)])
            #expect(logout.status == 303)
            #expect(logout.headers["location"] == "/login")
            let after = try await b.get("/")
            #expect(after.status == 303)
            #expect(after.headers["location"] == "/login")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func anAuditorSeesTheAuditPageAndNoSendPage() async throws {
        try await console.serve { port in
            let b = browser(port)
            let signedIn = try await b.signIn("audrey", password: Self.password, totp: try code("audrey"))
            #expect(signedIn.status == 303)
            let home = try await b.get("/")
            #expect(home.body.contains("id=\"nav-audit\"") && !home.body.contains("id=\"nav-send\""))
            #expect(home.body.contains("id=\"chain-state\"") && home.body.contains("id=\"last-checkpoint\""))
            let send = try await b.get("/send")
            #expect(send.status == 403)
            #expect(send.body.contains("id=\"error\""))
            #expect(try refusals("role-missing").contains { $0.actor.hasPrefix("operator:audrey;session=") && $0.subject == "send" })
            let audit = try await b.get("/audit")
            #expect(audit.status == 200)
            for id in ["chain-state", "last-checkpoint", "entries", "impact-form", "report-csv"] { #expect(audit.body.contains("id=\"\(id)\""), "\(id)") }
            #expect(audit.body.contains("console-login"))
            let month = ReportMonth(containing: Date()).description
            let report = try await b.get("/audit/report?month=\(month)")
            #expect(report.status == 200)
            #expect(report.body.contains("id=\"report-partners\""))
            let csv = try await b.get("/audit/report.csv?month=\(month)")
            #expect(csv.status == 200)
            #expect(csv.headers["content-type"] == "text/csv; charset=utf-8")
            #expect(csv.headers["content-disposition"]?.hasPrefix("attachment") == true)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func formsWithoutTheTokenOrFromElsewhereAreRefusedAndRecorded() async throws {
        try await console.serve { port in
            let b = browser(port)
            // The login form without its token, and from another origin.
            let noToken = try await b.post("/login", ["operator": "claire", "password": Self.password, "totp": try code("claire")])
            #expect(noToken.status == 403)
            #expect(try refusals("csrf-refused").contains { $0.actor == "system" && $0.subject?.hasPrefix("/login") == true })
            let form = try await b.get("/login")
            let foreign = try await b.post("/login", ["operator": "claire", "password": Self.password, "totp": try code("claire"),
                                                      "csrf": Browser.csrf(form.body)], origin: "https://evil.example")
            #expect(foreign.status == 403)
            #expect(try refusals("foreign-origin").contains { $0.subject?.hasPrefix("/login") == true })

            let signedIn = try await b.signIn("claire", password: Self.password, totp: try code("claire"))
            #expect(signedIn.status == 303)
            let home = try await b.get("/")
            let csrf = Browser.csrf(home.body)
            #expect(!csrf.isEmpty)
            // Logged in: a wrong token, a foreign Origin, no Origin: each 403 and recorded for the operator.
            let wrong = try await b.post("/logout", ["csrf": "x" + csrf])
            #expect(wrong.status == 403)
            #expect(wrong.body.contains("id=\"error\""))
            let elsewhere = try await b.post("/logout", ["csrf": csrf], origin: "https://evil.example")
            #expect(elsewhere.status == 403)
            let none = try await b.post("/logout", ["csrf": csrf], origin: "")
            #expect(none.status == 403)
            let mine = try refusals("csrf-refused") + refusals("foreign-origin")
            #expect(mine.filter { $0.actor.hasPrefix("operator:claire;session=") }.count == 3)
            // Still signed in: nothing was done.
            #expect(try await b.get("/").status == 200)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aWrongPasswordShowsTheFormAgainWithTheSentence() async throws {
        try await console.serve { port in
            let b = browser(port)
            let failed = try await b.signIn("claire", password: "not the password", totp: try code("claire"))
            #expect(failed.status == 401)
            #expect(failed.body.contains("id=\"login-form\"") && failed.body.contains("id=\"error\""))
            #expect(failed.body.contains("value=\"claire\""))
            #expect(failed.cookie("__Host-claimgate-session") == nil)
            let zh = try await b.post("/login", ["operator": "claire", "password": "nope", "totp": "000000",
                                                 "csrf": Browser.csrf(try await b.get("/login", ["-H", "Accept-Language: zh-CN"]).body)])
            #expect(zh.status == 401)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func manyFailuresFromOneAddressAreThrottledBeforeAnyCheck() async throws {
        try await console.serve { port in
            let b = browser(port)
            // Ten names that are nobody's (no operator locks): each checked and refused.
            for i in 0..<10 {
                let failed = try await b.signIn("nobody-\(i)", password: "not the password", totp: "000000")
                #expect(failed.status == 401)
            }
            // Then, from the same address, even an operator's right password and code wait.
            let throttled = try await b.signIn("claire", password: Self.password, totp: try code("claire"))
            #expect(throttled.status == 429)
            #expect(throttled.body.contains("id=\"error\"") && throttled.body.contains("wait a minute"))
            #expect(throttled.cookie("__Host-claimgate-session") == nil)
            _ = try await b.signIn("claire", password: Self.password, totp: try code("claire"))
            // Ten failures recorded one by one, the first throttled one on its own, the next only counted.
            let refused = try gateway.store.events().filter { $0.action == "console-login-refused" }
            #expect(refused.filter { $0.reasonCode == "login-failed" }.count == 10)
            #expect(refused.filter { $0.reasonCode == "login-throttled" }.map(\.subject) == ["claire from=127.0.0.1"])
            // Nothing reached the operator: no failure counted against claire.
            #expect(try gateway.store.consoleCredentials(OperatorID("claire"))?.failures == 0)
        }
    }
}
