/// A job `serve` runs on a schedule and that the audit trail names as `system:<job>`.
public enum ScheduledJob: String, Sendable, Hashable, CaseIterable {
    /// The purge job (`serve --purge-interval`).
    case purge
}
