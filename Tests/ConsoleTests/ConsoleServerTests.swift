import ClaimGateCore
import ClaimGateTesting
@testable import Console
import Foundation
import Logging
import Operations
import ServiceLifecycle
import Testing

/// A real `ConsoleServer` on 127.0.0.1 (port 0) over a real gateway home, asked by stock `curl`
/// trusting the gateway CA: the security headers on every kind of response, the login form and
/// its cookie, language switching, and TLS without a client certificate.
@Suite(.serialized) struct ConsoleServerTests {
    let console: ConsoleTestServer
    init() throws { console = try ConsoleTestServer() }
    var caFile: String { console.caFile }
    func serve(_ body: (Int) async throws -> Void) async throws { try await console.serve(body) }
    func curl(_ port: Int, _ path: String, _ extra: [String] = []) async throws -> Answer { try await console.curl(port, path, extra) }

    static let csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func expectSecurityHeaders(_ a: Answer, _ path: String) {
        #expect(a.headers["content-security-policy"] == Self.csp, "\(path)")
        #expect(!(a.headers["content-security-policy"] ?? "").contains("unsafe-inline"), "\(path)")
        #expect(a.headers["x-content-type-options"] == "nosniff", "\(path)")
        #expect(a.headers["referrer-policy"] == "same-origin", "\(path)")
        #expect(a.headers["x-frame-options"] == "DENY", "\(path)")
        #expect(a.headers["strict-transport-security"] == "max-age=31536000", "\(path)")
    }

    @Test(.timeLimit(.minutes(3)))
    func everyResponseCarriesTheSecurityHeaders() async throws {
        try await serve { port in
            for (path, status) in [("/login", 200), ("/", 303), ("/bundles", 303), ("/audit", 303), ("/no-such-page", 404),
                                   ("/language?to=zh-CN&back=/login", 303), ("/static/console.css", 200)] {
                let a = try await curl(port, path)
                #expect(a.status == status, "\(path)")
                expectSecurityHeaders(a, path)
                if path != "/static/console.css" { #expect(a.headers["cache-control"] == "no-store", "\(path)") }
            }
            let css = try await curl(port, "/static/console.css")
            #expect(css.headers["content-type"] == "text/css; charset=utf-8")
            #expect(css.body.contains("nav#nav"))
            let missing = try await curl(port, "/no-such-page")
            #expect(missing.headers["content-type"] == "text/html; charset=utf-8")
            #expect(missing.body.contains("id=\"page-title\"") && missing.body.contains("id=\"error\""))
            // A form posted from elsewhere is refused before anything else, with the headers too.
            let post = try await curl(port, "/login", ["-X", "POST", "-H", "Origin: https://evil.example", "--data", "operator=x"])
            #expect(post.status == 403)
            expectSecurityHeaders(post, "POST /login")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aPageWithoutASessionGoesToTheLoginForm() async throws {
        try await serve { port in
            let home = try await curl(port, "/")
            #expect(home.status == 303)
            #expect(home.headers["location"] == "/login")
            let stale = try await curl(port, "/bundles", ["-H", "Cookie: __Host-claimgate-session=not-a-session"])
            #expect(stale.status == 303)
            #expect(stale.headers["location"] == "/login")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func theLoginFormCarriesItsTokenInACookieAndTheForm() async throws {
        try await serve { port in
            let a = try await curl(port, "/login", ["-H", "Accept-Language: en-GB,en;q=0.9"])
            #expect(a.status == 200)
            for id in ["login-form", "operator", "password", "totp", "login-submit", "lang-zh-CN", "lang-en"] {
                #expect(a.body.contains("id=\"\(id)\""), "\(id)")
            }
            #expect(a.body.contains("name=\"password\" type=\"password\""))
            #expect(!a.body.contains("id=\"nav\""))
            let cookie = try #require(a.headers["set-cookie"]?.split(separator: "\n").first { $0.hasPrefix("__Host-claimgate-login=") })
            let attributes = cookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let token = String(attributes[0].dropFirst("__Host-claimgate-login=".count))
            #expect(token.utf8.count == 43)
            #expect(Set(attributes.dropFirst().map { $0.lowercased() }).isSuperset(of: ["secure", "httponly", "samesite=strict", "path=/"]))
            #expect(!attributes.contains { $0.lowercased().hasPrefix("domain") })
            #expect(a.body.contains("name=\"csrf\" value=\"\(token)\""))
            // A new form, a new token.
            let again = try await curl(port, "/login")
            #expect(!again.body.contains(token))
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func theLanguageFollowsAcceptLanguageAndTheSwitch() async throws {
        try await serve { port in
            let zh = try await curl(port, "/login", ["-H", "Accept-Language: zh-CN,zh;q=0.9,en;q=0.5"])
            #expect(zh.body.contains("<html lang=\"zh-CN\">"))
            #expect(zh.body.contains("登录"))
            let en = try await curl(port, "/login", ["-H", "Accept-Language: zh-CN", "-H", "Cookie: __Host-claimgate-lang=en"])
            #expect(en.body.contains("<html lang=\"en\">"))
            #expect(en.body.contains("Log in"))
            let switched = try await curl(port, "/language?to=zh-CN&back=/login")
            #expect(switched.status == 303)
            #expect(switched.headers["location"] == "/login")
            let cookie = try #require(switched.headers["set-cookie"])
            #expect(cookie.hasPrefix("__Host-claimgate-lang=zh-CN"))
            #expect(cookie.contains("Secure") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
            let away = try await curl(port, "/language?to=en&back=//evil.example/")
            #expect(away.headers["location"] == "/")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func tlsBelow12IsRefusedAndNoClientCertificateIsAsked() async throws {
        try await serve { port in
            let old = try await Shell.runDetached(["curl", "-sS", "--max-time", "20", "--cacert", caFile, "--tlsv1.0", "--tls-max", "1.1",
                                                   "-o", "/dev/null", "https://127.0.0.1:\(port)/login"])
            #expect(!old.succeeded)
            let ok = try await curl(port, "/login", ["--tlsv1.2"])
            #expect(ok.status == 200)
        }
    }
}
