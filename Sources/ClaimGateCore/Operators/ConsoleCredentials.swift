import Foundation

/// What an operator signs in to the web console with, as stored: a bcrypt hash of its password,
/// the TOTP shared secret (RFC 6238), the last TOTP time step accepted (a code is never taken
/// twice), and the failures since the last success with the lock they led to. The password itself
/// is never stored.
public struct ConsoleCredentials: Sendable, Hashable {
    public var operatorID: OperatorID
    /// bcrypt (`$2b$…`); nil until `operator password` sets one.
    public var passwordHash: String?
    public var passwordSetAt: Date?
    /// The TOTP secret; nil until `operator totp` enrols one.
    public var totpSecret: String?
    public var totpEnrolledAt: Date?
    /// The last 30-second step whose code was accepted (0: none yet).
    public var totpLastStep: Int64
    /// Wrong sign-ins and wrong codes in a row.
    public var failures: Int
    public var lockedUntil: Date?

    public init(operatorID: OperatorID, passwordHash: String? = nil, passwordSetAt: Date? = nil, totpSecret: String? = nil,
                totpEnrolledAt: Date? = nil, totpLastStep: Int64 = 0, failures: Int = 0, lockedUntil: Date? = nil) {
        self.operatorID = operatorID; self.passwordHash = passwordHash; self.passwordSetAt = passwordSetAt
        self.totpSecret = totpSecret; self.totpEnrolledAt = totpEnrolledAt; self.totpLastStep = totpLastStep
        self.failures = failures; self.lockedUntil = lockedUntil
    }

    /// Whether both factors are set: an operator without either cannot sign in.
    public var isComplete: Bool { passwordHash != nil && totpSecret != nil }
}
