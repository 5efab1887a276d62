import ClaimGateCore
import Foundation
import HummingbirdBcrypt

/// Setting an operator's web console credentials: a password (at least 12 characters, kept as a
/// bcrypt hash) and a TOTP secret (shown once, as an `otpauth://` URI for an authenticator app).
/// A security officer's action (`operator-credentials`) or the shell's; each is recorded, ends
/// the operator's console sessions, and a new password lifts a lock.
extension Gateway {
    /// The shortest console password accepted.
    public static let minimumConsolePasswordLength = 12

    /// Sets operator `name`'s console password.
    /// - Throws: `invalid-argument` for a password shorter than 12 characters, longer than 72
    ///   bytes (bcrypt's limit) or with control characters; `unknown-operator`; `not-permitted`.
    public func setConsolePassword(_ name: String, password: String, by principal: Principal) throws {
        try authorize(.operatorCredentials, by: principal)
        let op = try storedOperator(name)
        guard op.state != .removed else {
            throw ClaimGateError(.invalidArgument, "Operator \(op.id) was removed: it can no longer sign in.")
        }
        guard password.count >= Self.minimumConsolePasswordLength else {
            throw ClaimGateError(.invalidArgument, "The password has \(password.count) characters: use at least \(Self.minimumConsolePasswordLength).")
        }
        guard password.utf8.count <= 72 else {
            throw ClaimGateError(.invalidArgument, "The password is longer than 72 bytes, which bcrypt would cut: use a shorter one.")
        }
        guard !password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ClaimGateError(.invalidArgument, "The password holds control characters: use printable characters only.")
        }
        let hash = Bcrypt.hash(password, cost: 12)
        let now = clock.now
        try store.setConsolePassword(op.id, hash: hash, at: now, event: TransferEvent(
            time: now, actor: principal.actor, action: .operatorPasswordSet, outcome: .success,
            reason: EventReason(.operatorChange, "\(op.id) console-password"), transport: principal.transport))
        logger.info("operator console password set", metadata: ["operator.id": "\(op.id)"])
    }

    /// Enrols a new TOTP secret for operator `name` (the previous one stops working).
    /// - Returns: the `otpauth://totp/…` URI to show once: it holds the secret.
    public func enrolConsoleTOTP(_ name: String, by principal: Principal) throws -> String {
        try authorize(.operatorCredentials, by: principal)
        let op = try storedOperator(name)
        guard op.state != .removed else {
            throw ClaimGateError(.invalidArgument, "Operator \(op.id) was removed: it can no longer sign in.")
        }
        let secret = ConsoleSecrets.totpSecret()
        let now = clock.now
        try store.setConsoleTOTP(op.id, secret: secret, at: now, event: TransferEvent(
            time: now, actor: principal.actor, action: .operatorTOTPEnrolled, outcome: .success,
            reason: EventReason(.operatorChange, "\(op.id) console-totp"), transport: principal.transport))
        logger.info("operator console TOTP enrolled", metadata: ["operator.id": "\(op.id)"])
        return ConsoleSecrets.authenticatorURI(secret: secret, operatorName: op.id.rawValue)
    }

    /// One operator as `operator show` prints it: as stored, with whether it can sign in to the
    /// console (both factors set) and until when it is locked.
    public func operatorView(_ name: String, by principal: Principal) throws -> OperatorView {
        var view = OperatorView(try `operator`(name, by: principal))
        let c = try store.consoleCredentials(try OperatorID(name))
        view.console = ConsoleStatusView(password: c?.passwordHash != nil, totp: c?.totpSecret != nil,
                                         lockedUntil: c?.lockedUntil.flatMap { $0 > clock.now ? Timestamp.format($0) : nil })
        return view
    }
}
