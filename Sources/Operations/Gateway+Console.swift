import ClaimGateCore
import Foundation
import HummingbirdBcrypt
import Store

/// The web console's sign-in, sessions and second factor. An operator signs in with its name,
/// password (bcrypt) and a TOTP code; the session lives in the store (any node can serve it) and
/// ends after `consoleIdleTimeout` without a request, when the operator signs out, or when it is
/// suspended, removed, locked or given new credentials. Five wrong sign-ins or codes in a row
/// lock the operator for 15 minutes (`ConsoleLockout`). Every sign-in, refusal and sign-out is
/// recorded; what the session then does is recorded as `operator:<name>;session=<reference>`
/// over transport `console`, through the same operations and role checks as the operator API.
extension Gateway {
    /// A session unused this long ends.
    public static let consoleIdleTimeout: TimeInterval = 15 * 60

    /// A bcrypt hash of no password, verified against when the operator is unknown or has none,
    /// so that a refusal takes as long whatever the reason.
    private static let decoyHash = Bcrypt.hash("claimgate-decoy-password", cost: 12)

    /// Signs an operator in.
    /// - Parameters:
    ///   - name: the operator's name, as typed.
    ///   - password: its console password.
    ///   - totp: the 6-digit code from its authenticator, not used before.
    ///   - address: the client's address, recorded.
    /// - Throws: `not-permitted` with refusal `login-failed` (wrong name, password or code, or no
    ///   console credentials; one sentence for all), `operator-locked`, `operator-suspended` or
    ///   `operator-removed`. Each is recorded as `console-login-refused`.
    public func consoleLogin(operator name: String, password: String, totp: String, from address: String) throws -> ConsoleSession {
        let now = clock.now
        let lockout = ConsoleLockout(clock: clock)
        let id = try? OperatorID(name)
        let stored = try id.flatMap { try store.operator($0) }
        let credentials = try id.flatMap { try store.consoleCredentials($0) }
        let failed = Refusal(.loginFailed, "The operator name, password or code is not right: try again (five failures in a row lock the operator for 15 minutes).")

        // Locked: nothing is checked, so guessing stops; the refusal is recorded all the same.
        if case .fails(let refusal) = lockout.evaluate(credentials) {
            try recordLoginRefusal(refusal, operator: id, name: name, from: address)
        }
        let passwordOK = Bcrypt.verify(password, hash: credentials?.passwordHash ?? Self.decoyHash) && credentials?.passwordHash != nil
        guard let id, let stored, let credentials, let secret = credentials.totpSecret, passwordOK,
              let step = ConsoleSecrets.matchingStep(totp, secret: secret, now: now, after: credentials.totpLastStep) else {
            try failLogin(failed, operator: stored == nil ? nil : id, name: name, from: address)
        }
        guard stored.state == .active else {
            let standing = OperatorStanding(clock: clock).evaluate(OperatorRequest(operatorID: id, fingerprint: nil, stored: stored, action: .identityShow))
            if case .fails(let refusal) = standing { try recordLoginRefusal(refusal, operator: id, name: name, from: address) }
            throw ClaimGateError(.notPermitted, failed.message, refusal: .loginFailed)
        }
        let token = ConsoleSecrets.token()
        let session = ConsoleSession(token: token, reference: String(ConsoleSecrets.sha256("reference:" + token).prefix(16)),
                                     operatorID: id, csrfToken: ConsoleSecrets.token(), createdAt: now, lastSeen: now)
        let row = StoredConsoleSession(tokenSHA256: ConsoleSecrets.sha256(token), reference: session.reference, operatorID: id,
                                       csrfToken: session.csrfToken, createdAt: now, lastSeen: now, address: EventReason.bounded(address))
        let event = TransferEvent(time: now, actor: session.principal.actor, action: .consoleLogin, outcome: .success,
                                  reason: EventReason(.operatorChange, "\(id) from=\(address)"), transport: .console)
        guard try store.acceptConsoleCode(id, step: step, session: row, event: event) else {
            // Another sign-in took this code first (a replay): refused like a wrong code.
            try failLogin(failed, operator: id, name: name, from: address)
        }
        logger.info("console sign-in", metadata: ["operator.id": "\(id)", "session.reference": "\(session.reference)"])
        return session
    }

    /// The session a cookie names, marked as used now; nil when there is none, it was idle
    /// longer than `consoleIdleTimeout` (it is ended), or its operator is no longer active.
    public func consoleSession(token: String) throws -> ConsoleSession? {
        guard !token.isEmpty, token.count <= 128 else { return nil }
        let digest = ConsoleSecrets.sha256(token)
        guard let row = try store.consoleSession(tokenSHA256: digest) else { return nil }
        let now = clock.now
        guard now.timeIntervalSince(row.lastSeen) <= Self.consoleIdleTimeout, try store.operator(row.operatorID)?.state == .active else {
            try store.endConsoleSession(tokenSHA256: digest, event: nil)
            return nil
        }
        // Written at most once a minute: a page's requests do not each commit.
        if now.timeIntervalSince(row.lastSeen) >= 60 || now < row.lastSeen {
            try store.touchConsoleSession(tokenSHA256: digest, at: now)
        }
        return ConsoleSession(token: token, reference: row.reference, operatorID: row.operatorID, csrfToken: row.csrfToken,
                              createdAt: row.createdAt, lastSeen: now)
    }

    /// Signs out: the session ends and `console-logout` is recorded. An unknown session is not
    /// an error (it may have timed out already).
    public func consoleLogout(token: String) throws {
        let digest = ConsoleSecrets.sha256(token)
        guard let row = try store.consoleSession(tokenSHA256: digest) else { return }
        let principal = Principal.consoleOperator(row.operatorID, session: row.reference)
        try store.endConsoleSession(tokenSHA256: digest, event: TransferEvent(
            time: clock.now, actor: principal.actor, action: .consoleLogout, outcome: .success, transport: .console))
    }

    /// Ends every console session idle longer than `consoleIdleTimeout`, and those of operators
    /// no longer active (`serve` runs it with its other scheduled jobs).
    /// - Returns: how many ended.
    @discardableResult
    public func endIdleConsoleSessions() throws -> Int {
        try store.endIdleConsoleSessions(lastSeenBefore: clock.now.addingTimeInterval(-Self.consoleIdleTimeout))
    }

    /// Asks a console operator for a fresh TOTP code again before a sensitive action (recall,
    /// purge, inbox export, approvals). A code is taken once; a wrong one counts toward the lock.
    /// Other principals (the operator API's certificate, the shell) are not asked.
    /// - Throws: `not-permitted` with refusal `totp-invalid` or `operator-locked`, recorded.
    public func confirmTOTP(_ code: String, by principal: Principal) throws {
        guard case .consoleOperator(let id, _) = principal else { return }
        let credentials = try store.consoleCredentials(id)
        if case .fails(let refusal) = ConsoleLockout(clock: clock).evaluate(credentials) {
            try recordConsoleRefusal(refusal.reason, path: "totp", by: principal, from: nil)
            throw ClaimGateError(.notPermitted, refusal.message, refusal: refusal.reason)
        }
        let now = clock.now
        if let credentials, let secret = credentials.totpSecret,
           let step = ConsoleSecrets.matchingStep(code, secret: secret, now: now, after: credentials.totpLastStep),
           try store.acceptConsoleCode(id, step: step, session: nil, event: TransferEvent(
               time: now, actor: principal.actor, action: .consoleLogin, outcome: .success,
               reason: EventReason(.operatorChange, "\(id) totp-confirmed"), transport: .console)) {
            return
        }
        let lockout = ConsoleLockout(clock: clock)
        let until = try store.noteConsoleFailure(id, lock: { lockout.lock(afterFailures: $0) }, event: { until in
            TransferEvent(time: now, actor: principal.actor, action: .operatorRefused, outcome: .refused,
                          reason: EventReason(until == nil ? .totpInvalid : .operatorLocked, "totp"), transport: .console)
        })
        if let until {
            throw ClaimGateError(.notPermitted, "Wrong code: operator \(id) is locked after \(lockout.maxFailures) failures until \(Timestamp.format(until)) and signed out.", refusal: .operatorLocked)
        }
        throw ClaimGateError(.notPermitted, "The code is not right (or was used already): enter the current code from your authenticator.", refusal: .totpInvalid)
    }

    /// Records a console request refused before any operation (a form without the session's
    /// CSRF token, or from another origin), as `operator-refused` for the session's operator, or
    /// as the gateway's entry when no session was signed in.
    /// - Parameters:
    ///   - reason: `csrf-refused` or `foreign-origin`.
    ///   - path: the request's path (the subject; bounded).
    ///   - address: the client's address, when known.
    public func recordConsoleRefusal(_ reason: Refusal.Reason, path: String, by principal: Principal?, from address: String?) throws {
        guard !store.isReadOnly else { return }
        let subject = path + (address.map { " from=\($0)" } ?? "")
        try store.record(TransferEvent(time: clock.now, actor: principal?.actor ?? .system, action: .operatorRefused, outcome: .refused,
                                       reason: EventReason(reason, subject), transport: .console))
        logger.info("console request refused", metadata: ["reason": "\(reason)", "operator.id": "\(principal?.operatorID.map(\.rawValue) ?? "-")"])
    }

    /// Records sign-ins a console refused for their address's failures before checking anything
    /// (`console-login-refused`, `login-throttled`): one on its own, or, with `count` above one,
    /// how many more of a window were refused without an entry each.
    /// - Parameters:
    ///   - name: the name the refused sign-in tried (for one on its own).
    public func recordThrottledLogins(name: String?, count: Int, from address: String) throws {
        guard !store.isReadOnly, count > 0 else { return }
        let subject = count == 1 ? "\(String((name ?? "").prefix(64))) from=\(address)" : "\(count) more from=\(address)"
        try store.record(TransferEvent(time: clock.now, actor: .system, action: .consoleLoginRefused, outcome: .refused,
                                       reason: EventReason(.loginThrottled, subject), transport: .console))
        logger.info("console sign-ins throttled", metadata: ["count": "\(count)"])
    }

    // MARK: - Refusals

    /// Counts a failed sign-in (locking at the fifth), records it, and throws.
    private func failLogin(_ refusal: Refusal, operator id: OperatorID?, name: String, from address: String) throws -> Never {
        let now = clock.now
        let lockout = ConsoleLockout(clock: clock)
        let until = try store.noteConsoleFailure(id, lock: { lockout.lock(afterFailures: $0) }, event: { until in
            self.loginRefusedEvent(until == nil ? .loginFailed : .operatorLocked, operator: id, name: name, from: address, at: now)
        })
        logger.info("console sign-in refused", metadata: ["reason": "\(until == nil ? "login-failed" : "operator-locked")"])
        if let until, let id {
            throw ClaimGateError(.notPermitted, "Operator \(id) is locked after \(lockout.maxFailures) failed sign-ins or codes until \(Timestamp.format(until)): wait, or ask a security officer to set a new password with `claimgate operator password \(id)`.", refusal: .operatorLocked)
        }
        throw ClaimGateError(.notPermitted, refusal.message, refusal: .loginFailed)
    }

    /// Records a refused sign-in that counts nothing (locked, suspended) and throws.
    private func recordLoginRefusal(_ refusal: Refusal, operator id: OperatorID?, name: String, from address: String) throws -> Never {
        if !store.isReadOnly {
            try store.record(loginRefusedEvent(refusal.reason, operator: id, name: name, from: address, at: clock.now))
        }
        throw ClaimGateError(.notPermitted, refusal.message, refusal: refusal.reason)
    }

    /// A sign-in refusal: attributed to the operator when the name is one (its session reference
    /// `none`), to the gateway otherwise, with the name tried and the address as subject.
    private func loginRefusedEvent(_ reason: Refusal.Reason, operator id: OperatorID?, name: String, from address: String,
                                   at time: Date) -> TransferEvent {
        let actor: Actor = id.map { .consoleOperator($0, session: "none") } ?? .system
        return TransferEvent(time: time, actor: actor, action: .consoleLoginRefused, outcome: .refused,
                             reason: EventReason(reason, "\(String(name.prefix(64))) from=\(address)"), transport: .console)
    }
}
