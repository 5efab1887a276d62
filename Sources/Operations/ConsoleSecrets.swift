import Envelope
import Foundation
import HummingbirdOTP

/// The console's secrets and codes: random tokens, their digests, constant-time comparison, and
/// TOTP codes (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps) through hummingbird-auth's `TOTP`.
enum ConsoleSecrets {
    /// `count` bytes from the system's CSPRNG, base64url without padding.
    static func token(bytes count: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// A TOTP secret: 32 characters of the base32 alphabet (160 bits of randomness), whose UTF-8
    /// bytes are the HMAC key (what `TOTP` and the `otpauth://` URI take).
    static func totpSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    static func sha256(_ text: String) -> String { SHA256Hasher.hex(Array(text.utf8)) }

    /// Equal strings, compared in time that does not depend on where they differ.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }

    static let step: Double = 30

    /// The time step of `date`.
    static func step(of date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / step).rounded(.down)) }

    /// The step a 6-digit `code` is valid for, among the step of `now` and one on either side (a
    /// phone's clock may be 30 seconds off), later than `after`; nil when none.
    static func matchingStep(_ code: String, secret: String, now: Date, after lastStep: Int64) -> Int64? {
        let code = code.trimmingCharacters(in: .whitespaces)
        guard code.count == 6, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else { return nil }
        let current = step(of: now)
        var found: Int64?
        for s in [current - 1, current, current + 1] where s > lastStep {
            if equal(Self.code(secret: secret, step: s), code), found == nil { found = s }
        }
        return found
    }

    /// The 6-digit code of time step `step`.
    static func code(secret: String, step s: Int64) -> String {
        String(format: "%06d", TOTP(secret: secret).compute(date: Date(timeIntervalSince1970: Double(s) * step)))
    }

    /// The `otpauth://totp/ClaimGate:<name>?secret=<base32>&issuer=ClaimGate` URI an
    /// authenticator app enrols from.
    static func authenticatorURI(secret: String, operatorName: String) -> String {
        TOTP(secret: secret).createAuthenticatorURL(label: "ClaimGate:" + operatorName, issuer: "ClaimGate")
    }
}
