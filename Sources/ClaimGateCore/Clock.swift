import Foundation

/// The source of "now" for every policy decision. Inject a fixed clock in tests.
public protocol WallClock: Sendable {
    var now: Date { get }
}

/// The system's wall clock.
public struct SystemClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}
