import Foundation

/// ISO-8601 UTC timestamps as ClaimGate writes them: `2026-11-21T22:55:02Z`.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        wholeSeconds(date).formatted(.iso8601)
    }

    /// `date` without its fraction of a second: the precision manifests and the store keep.
    public static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    public static func parse(_ text: String) -> Date? {
        if let d = try? Date.ISO8601FormatStyle().parse(text) { return d }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}

/// When a bundle stops being available: an absolute date or datetime, or a time to live.
public enum ExpirySpec: Sendable, Equatable {
    case at(Date)
    case ttl(TimeInterval)

    /// Parses `--expires`: `YYYY-MM-DD` (the end of that day, UTC) or a full ISO-8601 datetime
    /// with a zone (`2026-12-01T12:00:00Z`, `2026-12-01T12:00:00+01:00`).
    public static func expires(_ text: String) throws -> ExpirySpec {
        if let day = try? CalendarDay(parsing: text) { return .at(day.endOfDay) }
        if let date = Timestamp.parse(text) { return .at(date) }
        throw ClaimGateError(.invalidArgument,
            "--expires '\(text.prefix(40))' is not a date: use YYYY-MM-DD or an ISO-8601 datetime such as 2026-12-01T12:00:00Z.")
    }

    /// Parses `--ttl`: a whole number followed by `m`, `h`, `d` or `w` (`90m`, `12h`, `7d`, `2w`).
    public static func ttl(_ text: String) throws -> ExpirySpec {
        let units: [Character: TimeInterval] = ["m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
        guard let unit = text.last, let scale = units[unit],
              let n = Int(text.dropLast()), n > 0 else {
            throw ClaimGateError(.invalidArgument,
                "--ttl '\(text.prefix(40))' is not a duration: use a positive number with m, h, d or w, such as 7d.")
        }
        return .ttl(TimeInterval(n) * scale)
    }

    public func resolve(createdAt: Date) -> Date {
        switch self {
        case .at(let d): return d
        case .ttl(let t): return createdAt.addingTimeInterval(t)
        }
    }
}
