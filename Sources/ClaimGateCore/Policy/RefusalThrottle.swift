import Foundation

/// Keeps a flood of refusals from becoming a flood of audit entries (and of disk and commits):
/// within each window the first `burst` refusals are recorded one by one; the rest are only
/// counted, and the count is recorded as one summary entry once the window is over. Nothing is
/// lost from the trail's totals; only the one-by-one detail of a flood is.
public struct RefusalThrottle: Sendable {
    public let window: TimeInterval
    public let burst: Int
    private var windowStart: Date?
    private var recorded = 0
    private var suppressed = 0

    public init(window: TimeInterval = 60, burst: Int = 100) {
        precondition(window > 0 && burst >= 0)
        self.window = window
        self.burst = burst
    }

    /// Refusals counted but not recorded one by one, between `from` and `until`.
    public struct Summary: Sendable, Equatable {
        public let count: Int
        public let from: Date
        public let until: Date
        public init(count: Int, from: Date, until: Date) { self.count = count; self.from = from; self.until = until }
    }

    public enum Decision: Sendable, Equatable {
        /// Record this refusal on its own.
        case record
        /// Only counted: it will be in a summary. `first` is true for the first one counted in
        /// this window (the moment to arrange for the summary to be written at `windowEnd`).
        case counted(first: Bool, windowEnd: Date)
    }

    /// Decides about a refusal at `now`. A summary of the previous window, when one is owed,
    /// comes with it and is to be recorded first.
    public mutating func refusal(at now: Date) -> (decision: Decision, summary: Summary?) {
        let summary = closeWindow(ifOverAt: now)
        if windowStart == nil { windowStart = now }
        if recorded < burst {
            recorded += 1
            return (.record, summary)
        }
        suppressed += 1
        return (.counted(first: suppressed == 1, windowEnd: windowStart!.addingTimeInterval(window)), summary)
    }

    /// The summary owed at `now` (the window is over and refusals were only counted), if any;
    /// a new window starts with the next refusal.
    public mutating func due(at now: Date) -> Summary? {
        closeWindow(ifOverAt: now)
    }

    /// Ends the window now (at shutdown): the summary of what was only counted, if anything.
    public mutating func drain(at now: Date) -> Summary? {
        guard let start = windowStart else { return nil }
        defer { windowStart = nil; recorded = 0; suppressed = 0 }
        return suppressed > 0 ? Summary(count: suppressed, from: start, until: max(now, start)) : nil
    }

    private mutating func closeWindow(ifOverAt now: Date) -> Summary? {
        guard let start = windowStart else { return nil }
        let end = start.addingTimeInterval(window)
        // A clock stepped back also ends the window, so nothing is counted forever.
        guard now >= end || now < start else { return nil }
        defer { windowStart = nil; recorded = 0; suppressed = 0 }
        return suppressed > 0 ? Summary(count: suppressed, from: start, until: min(max(now, start), end)) : nil
    }
}

/// Records refusals made before anyone is identified (refused TLS handshakes, refused SFTP
/// logins) through a `RefusalThrottle`: one by one up to the burst, then one counted entry per
/// window. Blocking: a call may make a durable write.
public final class ThrottledRefusals: @unchecked Sendable {
    private let lock = NSLock()
    private var throttle: RefusalThrottle
    private let record: (TransferEvent) -> Void
    private let summary: (RefusalThrottle.Summary) -> TransferEvent

    /// - Parameters:
    ///   - summary: the entry that stands for refusals only counted.
    ///   - record: writes an entry (a refusal is a refusal even when that fails: log it there).
    public init(throttle: RefusalThrottle = RefusalThrottle(), summary: @escaping (RefusalThrottle.Summary) -> TransferEvent,
                record: @escaping (TransferEvent) -> Void) {
        self.throttle = throttle
        self.summary = summary
        self.record = record
    }

    /// Records `refusal`, or only counts it. Returns when the count will be owed if this was the
    /// first refusal counted in its window (the caller logs it and calls `recordDue` then).
    @discardableResult
    public func refused(_ refusal: TransferEvent) -> Date? {
        let (decision, owed) = lock.withLock { throttle.refusal(at: refusal.time) }
        if let owed { record(summary(owed)) }
        switch decision {
        case .record:
            record(refusal)
            return nil
        case .counted(let first, let windowEnd):
            return first ? windowEnd : nil
        }
    }

    /// Records the count of a window that is over, if one is owed.
    public func recordDue(at now: Date = Date()) {
        if let owed = lock.withLock({ throttle.due(at: now) }) { record(summary(owed)) }
    }

    /// At shutdown: records what was only counted so far.
    public func drain(at now: Date = Date()) {
        if let owed = lock.withLock({ throttle.drain(at: now) }) { record(summary(owed)) }
    }
}
