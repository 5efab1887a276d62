import ClaimGateCore
import ClaimGateTesting
import Foundation
@testable import Operations
import Store
import Testing

/// The web console's sign-in through the gateway's operations, with a real store and a clock the
/// tests move: password and TOTP both required, codes taken once, five failures lock for 15
/// minutes, sessions end when idle, and every step is recorded.
@Suite struct ConsoleSignInTests {
    /// Ten seconds into a 30-second step, a minute from now (the test PKI is valid from now on).
    static let start = Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + 60) / 30).rounded(.down) * 30 + 10)
    static let password = "correct horse battery"

    final class Setup: @unchecked Sendable {
        let clock = ManualClock(ConsoleSignInTests.start)
        let fixture: OperatorFixture
        var gateway: Gateway { fixture.gateway }
        let secret: String

        init(name: String = "claire", roles: Set<Role> = [.claimsOperator]) throws {
            fixture = try OperatorFixture(clock: clock)
            try fixture.add(name, roles)
            try fixture.gateway.setConsolePassword(name, password: ConsoleSignInTests.password, by: OperatorFixture.shell)
            let uri = try fixture.gateway.enrolConsoleTOTP(name, by: OperatorFixture.shell)
            #expect(uri.hasPrefix("otpauth://totp/ClaimGate:\(name)?secret="))
            secret = try #require(try fixture.gateway.store.consoleCredentials(OperatorID(name))?.totpSecret)
        }

        /// The code of the current step, or of a step later by `offset`.
        func code(offset: Int64 = 0) -> String {
            ConsoleSecrets.code(secret: secret, step: ConsoleSecrets.step(of: clock.now) + offset)
        }

        func events(_ action: String) throws -> [StoredEvent] { try gateway.store.events().filter { $0.action == action } }
    }

    @Test func rfc6238VectorsHold() {
        // RFC 6238 appendix B, SHA-1, the last six digits.
        let secret = "12345678901234567890"
        #expect(ConsoleSecrets.code(secret: secret, step: 59 / 30) == "287082")
        #expect(ConsoleSecrets.code(secret: secret, step: 1111111109 / 30) == "081804")
        #expect(ConsoleSecrets.code(secret: secret, step: 2000000000 / 30) == "279037")
    }

    @Test func passwordAndCodeSignInAndTheSessionActsAsTheOperator() throws {
        let s = try Setup()
        let session = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(), from: "127.0.0.1")
        #expect(session.reference.count == 16)
        #expect(session.principal == .consoleOperator(try OperatorID("claire"), session: session.reference))
        // The store keeps the cookie's SHA-256, never the cookie.
        #expect(try s.gateway.store.consoleSession(tokenSHA256: session.token) == nil)
        let read = try #require(try s.gateway.consoleSession(token: session.token))
        #expect(read.csrfToken == session.csrfToken)
        // Its actions are judged by the role table and recorded as the console operator.
        _ = try s.gateway.bundles(partner: nil, by: read.principal)
        #expect(throws: ClaimGateError.self) { try s.gateway.operators(by: read.principal) }
        let refused = try s.events("operator-refused").last
        #expect(refused?.actor == "operator:claire;session=\(session.reference)")
        #expect(refused?.transport == "console")
        let login = try #require(try s.events("console-login").first)
        #expect(login.actor == "operator:claire;session=\(session.reference)")
        #expect(login.outcome == "success")
    }

    @Test func bothFactorsAreNeededAndACodeIsTakenOnce() throws {
        let s = try Setup()
        func refusal(_ password: String, _ code: String, as name: String = "claire") -> Refusal.Reason? {
            let e = #expect(throws: ClaimGateError.self) { try s.gateway.consoleLogin(operator: name, password: password, totp: code, from: "10.0.0.9") }
            return e?.refusal
        }
        #expect(refusal("wrong password!!", s.code()) == .loginFailed)
        #expect(refusal(Self.password, "000000" == s.code() ? "111111" : "000000") == .loginFailed)
        #expect(refusal(Self.password, "") == .loginFailed)
        #expect(refusal(Self.password, s.code(), as: "nobody") == .loginFailed)
        // A right sign-in resets the count; the same code again is a replay.
        let code = s.code()
        _ = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: code, from: "10.0.0.9")
        #expect(refusal(Self.password, code) == .loginFailed)
        // The next step's code is good (a phone 30 s ahead), once.
        _ = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(offset: 1), from: "10.0.0.9")
        // Every refusal is recorded, with the name tried and the address, never the password.
        let refused = try s.events("console-login-refused")
        #expect(refused.count == 5)
        #expect(refused.allSatisfy { $0.reasonCode == "login-failed" && ($0.subject ?? "").hasSuffix("from=10.0.0.9") })
        #expect(refused.contains { $0.actor == "system" && $0.subject == "nobody from=10.0.0.9" })
        #expect(!(try s.gateway.store.events().contains { ($0.reason ?? "").contains(Self.password) }))
    }

    @Test func fiveFailuresLockForFifteenMinutes() throws {
        let s = try Setup()
        for _ in 0..<4 {
            let e = #expect(throws: ClaimGateError.self) { try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: "12345x", from: "h") }
            #expect(e?.refusal == .loginFailed)
        }
        let fifth = #expect(throws: ClaimGateError.self) { try s.gateway.consoleLogin(operator: "claire", password: "nope nope nope", totp: s.code(), from: "h") }
        #expect(fifth?.refusal == .operatorLocked)
        // Locked: even the right password and code are refused, and say until when.
        let locked = #expect(throws: ClaimGateError.self) { try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(), from: "h") }
        #expect(locked?.refusal == .operatorLocked)
        #expect(locked?.message.contains("until \(Timestamp.format(Self.start.addingTimeInterval(15 * 60)))") == true)
        #expect(try s.events("console-login-refused").map(\.reasonCode) == ["login-failed", "login-failed", "login-failed", "login-failed", "operator-locked", "operator-locked"])
        // Fifteen minutes later it opens again.
        s.clock.now = Self.start.addingTimeInterval(15 * 60 + 1)
        _ = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(), from: "h")
    }

    @Test func aNewPasswordLiftsTheLockAndEndsSessions() throws {
        let s = try Setup()
        let session = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(), from: "h")
        for _ in 0..<5 { _ = try? s.gateway.consoleLogin(operator: "claire", password: "x", totp: "000000", from: "h") }
        #expect(try s.gateway.operatorView("claire", by: OperatorFixture.shell).console?.lockedUntil != nil)
        // The lock also ended the session.
        #expect(try s.gateway.consoleSession(token: session.token) == nil)
        try s.gateway.setConsolePassword("claire", password: "another long password", by: OperatorFixture.shell)
        s.clock.now = s.clock.now.addingTimeInterval(30)
        _ = try s.gateway.consoleLogin(operator: "claire", password: "another long password", totp: s.code(), from: "h")
    }

    @Test func sessionsEndWhenIdleOnSignOutAndOnSuspension() throws {
        let s = try Setup()
        let a = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(), from: "h")
        s.clock.now = s.clock.now.addingTimeInterval(14 * 60)
        #expect(try s.gateway.consoleSession(token: a.token) != nil)          // used: the idle clock restarts
        s.clock.now = s.clock.now.addingTimeInterval(14 * 60)
        #expect(try s.gateway.consoleSession(token: a.token) != nil)
        s.clock.now = s.clock.now.addingTimeInterval(15 * 60 + 1)
        #expect(try s.gateway.consoleSession(token: a.token) == nil)          // idle: ended
        let b = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(), from: "h")
        try s.gateway.consoleLogout(token: b.token)
        #expect(try s.gateway.consoleSession(token: b.token) == nil)
        #expect(try s.events("console-logout").count == 1)
        s.clock.now = s.clock.now.addingTimeInterval(30)
        let c = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(), from: "h")
        try s.gateway.suspendOperator("claire", by: OperatorFixture.shell)
        #expect(try s.gateway.consoleSession(token: c.token) == nil)
        #expect(try s.gateway.consoleSession(token: "not-a-session") == nil)
    }

    @Test func stepUpAsksForAFreshCodeAndCountsFailures() throws {
        let s = try Setup()
        let session = try s.gateway.consoleLogin(operator: "claire", password: Self.password, totp: s.code(), from: "h")
        // The code used to sign in cannot confirm an action: the next one can.
        let replay = #expect(throws: ClaimGateError.self) { try s.gateway.confirmTOTP(s.code(), by: session.principal) }
        #expect(replay?.refusal == .totpInvalid)
        s.clock.now = s.clock.now.addingTimeInterval(30)
        try s.gateway.confirmTOTP(s.code(), by: session.principal)
        // The operator API and the shell are not asked.
        try s.gateway.confirmTOTP("", by: OperatorFixture.shell)
        for _ in 0..<4 { _ = try? s.gateway.confirmTOTP("999999" == s.code(offset: 1) ? "888888" : "999999", by: session.principal) }
        let locked = #expect(throws: ClaimGateError.self) { try s.gateway.confirmTOTP("abc", by: session.principal) }
        #expect(locked?.refusal == .operatorLocked)
        #expect(try s.gateway.consoleSession(token: session.token) == nil)
    }

    @Test func passwordsAreCheckedAndOnlyASecurityOfficerSetsThem() throws {
        let s = try Setup()
        let short = #expect(throws: ClaimGateError.self) { try s.gateway.setConsolePassword("claire", password: "short", by: OperatorFixture.shell) }
        #expect(short?.code == .invalidArgument)
        #expect(short?.message.contains("at least 12") == true)
        let claims = try s.fixture.add("lou", [.claimsOperator])
        let officer = try s.fixture.add("sec", [.securityOfficer])
        let e = #expect(throws: ClaimGateError.self) { try s.gateway.setConsolePassword("claire", password: "long enough password", by: claims) }
        #expect(e?.refusal == .roleMissing)
        try s.gateway.setConsolePassword("claire", password: "long enough password", by: officer)
        _ = try s.gateway.enrolConsoleTOTP("lou", by: officer)
        let set = try s.events("operator-password-set").last
        #expect(set?.subject == "claire console-password")
        #expect(set?.actor == officer.actor.description)
        // The hash is bcrypt's; the password is nowhere in the store's text.
        let hash = try #require(try s.gateway.store.consoleCredentials(OperatorID("claire"))?.passwordHash)
        #expect(hash.hasPrefix("$2"))
    }
}
