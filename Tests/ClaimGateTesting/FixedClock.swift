import ClaimGateCore
import Foundation

/// A clock pinned to one instant, for tests.
public struct FixedClock: WallClock {
    public var now: Date
    public init(_ now: Date) { self.now = now }
    /// Parses an ISO-8601 instant such as `2026-11-21T12:00:00Z`.
    public init(_ iso: String) { self.now = Timestamp.parse(iso)! }
}

/// A clock a test moves forward (or back) while the code under test holds it.
public final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    public init(_ now: Date) { current = now }
    public var now: Date {
        get { lock.lock(); defer { lock.unlock() }; return current }
        set { lock.lock(); current = newValue; lock.unlock() }
    }
}
