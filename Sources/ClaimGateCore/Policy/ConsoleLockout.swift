import Foundation

/// Failed console sign-ins and wrong TOTP codes, counted per operator: the fifth in a row locks
/// the operator out of the console for 15 minutes (a success resets the count; the lock ends by
/// itself, or when a security officer sets a new password). While locked, nothing is checked:
/// every sign-in is refused, so guessing stops.
public struct ConsoleLockout: Sendable {
    public let clock: any WallClock
    public var maxFailures = 5
    public var lockDuration: TimeInterval = 15 * 60

    public init(clock: any WallClock) { self.clock = clock }

    /// Refuses a sign-in or a code while the operator is locked.
    public func evaluate(_ credentials: ConsoleCredentials?) -> PolicyResult {
        guard let until = credentials?.lockedUntil, clock.now < until else { return .meets }
        return .fails(Refusal(.operatorLocked, "Operator \(credentials!.operatorID) is locked after \(maxFailures) failed sign-ins or codes until \(Timestamp.format(until)): wait, or ask a security officer to set a new password with `claimgate operator password \(credentials!.operatorID)`."))
    }

    /// The lock one more failure leads to (nil: not locked yet), after `failures` in a row
    /// before it.
    public func lock(afterFailures failures: Int) -> Date? {
        failures + 1 >= maxFailures ? clock.now.addingTimeInterval(lockDuration) : nil
    }
}
