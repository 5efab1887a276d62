import Foundation

/// Failed console sign-ins per client address, per minute (in this process): from the tenth in a
/// minute, further sign-ins from that address are refused at once (`429`), before any password
/// is hashed or any store is written, so a guessing run costs neither CPU nor disk. The operator
/// lock (`ConsoleLockout`, five failures) protects each operator across nodes; this protects the
/// console from one address spraying many names. What it refuses is recorded sparingly: the
/// first refusal of a window on its own, the rest as one count with the next sign-in from the
/// address after the window.
final class ConsoleLoginThrottle: @unchecked Sendable {
    let window: TimeInterval
    let maxFailures: Int
    /// Addresses tracked at most (the oldest windows are dropped first beyond it).
    let maxAddresses: Int
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    struct Entry {
        var start: Date
        var failures = 0
        var refused = 0
    }

    /// What to do with a sign-in from an address.
    enum Decision: Equatable {
        /// Check it; `owed` is the count of refusals of the address's previous window not yet
        /// recorded (to record first).
        case admit(owed: Int)
        /// Refuse it; `record` for the first refusal of the window (to record on its own).
        case refuse(record: Bool, until: Date)
    }

    init(window: TimeInterval = 60, maxFailures: Int = 10, maxAddresses: Int = 10_000) {
        self.window = window; self.maxFailures = maxFailures; self.maxAddresses = maxAddresses
    }

    func decide(_ address: String, at now: Date) -> Decision {
        lock.lock(); defer { lock.unlock() }
        var owed = 0
        if var e = entries[address] {
            if now.timeIntervalSince(e.start) >= window || now < e.start {
                owed = max(0, e.refused - 1)
                entries[address] = nil
            } else if e.failures >= maxFailures {
                e.refused += 1
                entries[address] = e
                return .refuse(record: e.refused == 1, until: e.start.addingTimeInterval(window))
            }
        }
        return .admit(owed: owed)
    }

    /// Counts a failed sign-in from `address`.
    func failed(_ address: String, at now: Date) {
        lock.lock(); defer { lock.unlock() }
        if entries[address] == nil {
            if entries.count >= maxAddresses {
                for (key, _) in entries.sorted(by: { $0.value.start < $1.value.start }).prefix(maxAddresses / 10) { entries[key] = nil }
            }
            entries[address] = Entry(start: now)
        }
        entries[address]!.failures += 1
    }
}
