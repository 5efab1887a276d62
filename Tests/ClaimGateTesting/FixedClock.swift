import ClaimGateCore
import Foundation

/// A clock pinned to one instant, for tests.
public struct FixedClock: WallClock {
    public var now: Date
    public init(_ now: Date) { self.now = now }
    /// Parses an ISO-8601 instant such as `2026-11-21T12:00:00Z`.
    public init(_ iso: String) { self.now = Timestamp.parse(iso)! }
}
