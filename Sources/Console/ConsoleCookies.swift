import Foundation
import Hummingbird

/// The console's cookies: all `__Host-` prefixed (Secure, `Path=/`, no `Domain`, so only this
/// origin can set or read them) and `SameSite=Strict`.
enum ConsoleCookies {
    /// The session token (HttpOnly; no `Max-Age`: it ends with the browser, and the gateway ends
    /// it after 15 idle minutes).
    static let session = "__Host-claimgate-session"
    /// The login form's CSRF token (double submit: the form carries the same value).
    static let login = "__Host-claimgate-login"
    /// The language the operator switched to (`zh-CN` or `en`).
    static let language = "__Host-claimgate-lang"
    /// The operator's time zone (an IANA id).
    static let timeZone = "__Host-claimgate-tz"

    /// How long a language or time zone choice is kept.
    static let preferenceMaxAge = 365 * 86_400

    /// A cookie as the console sets them.
    /// - Parameters:
    ///   - maxAge: seconds to keep it; nil for a session cookie, 0 to remove it.
    ///   - httpOnly: hidden from scripts (the console has none; set anyway for secrets).
    static func make(_ name: String, _ value: String, maxAge: Int? = nil, httpOnly: Bool = true) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: true, httpOnly: httpOnly, sameSite: .strict)
    }

    /// Removes a cookie.
    static func remove(_ name: String) -> Cookie { make(name, "", maxAge: 0) }

    /// 32 random bytes, base64url without padding: a login CSRF token.
    static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Compares two secrets in time that depends on their lengths only, not on where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
