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

    /// Parses an ISO-8601 datetime with a zone: `2026-12-01T12:00:00Z`,
    /// `2026-12-01T12:00:00.250+01:00`. Strict: every field must be in range for its calendar
    /// (no `T25:00`, no `T00:61`, no 31 April); a leap second (`:60`) is refused, not rolled
    /// over into the next minute, because the audit trail and manifests cannot represent it.
    public static func parse(_ text: String) -> Date? {
        (try? parseStrict(text)) ?? nil
    }

    /// As `parse`, but says what is wrong.
    public static func parseStrict(_ text: String) throws -> Date {
        func fail(_ why: String) -> ClaimGateError {
            ClaimGateError(.invalidArgument, "'\(text.prefix(40))' is not a valid time: \(why)")
        }
        let b = Array(text.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        guard let year = digits(0, 4), at(4, "-"), let month = digits(5, 2), at(7, "-"), let day = digits(8, 2),
              at(10, "T") || at(10, "t"), let hour = digits(11, 2), at(13, ":"), let minute = digits(14, 2),
              at(16, ":"), let second = digits(17, 2) else {
            throw fail("use an ISO-8601 datetime with a zone, such as 2026-12-01T12:00:00Z.")
        }
        var i = 19
        var fraction = 0.0
        if at(i, ".") {
            var scale = 0.1
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { fraction += Double(b[i] - 0x30) * scale; scale /= 10; i += 1 }
            guard i > start, i - start <= 9 else { throw fail("the fraction of a second must have 1 to 9 digits.") }
        }
        var offset = 0
        if at(i, "Z") || at(i, "z") {
            i += 1
        } else if at(i, "+") || at(i, "-") {
            let sign = at(i, "-") ? -1 : 1
            guard let oh = digits(i + 1, 2), at(i + 3, ":"), let om = digits(i + 4, 2) else {
                throw fail("the zone must be Z or an offset such as +08:00.")
            }
            guard oh <= 18, om <= 59 else { throw fail("the zone offset \(oh):\(om) is out of range.") }
            offset = sign * (oh * 3_600 + om * 60)
            i += 6
        } else {
            throw fail("it needs a zone: Z for UTC or an offset such as +08:00.")
        }
        guard i == b.count else { throw fail("unexpected characters after the zone.") }
        guard (1...12).contains(month) else { throw fail("there is no month \(month).") }
        guard let date = try? CalendarDay(year: year, month: month, day: day) else {
            throw fail("there is no day \(day) in \(year)-\(month < 10 ? "0" : "")\(month).")
        }
        guard hour <= 23 else { throw fail("the hour must be 00 to 23.") }
        guard minute <= 59 else { throw fail("the minute must be 00 to 59.") }
        guard second <= 59 else { throw fail("the second must be 00 to 59 (leap seconds are not accepted).") }
        let seconds = Double(hour * 3_600 + minute * 60 + second - offset) + fraction
        return date.startOfDay.addingTimeInterval(seconds)
    }
}

/// When a bundle stops being available: an absolute date or datetime, or a time to live.
public enum ExpirySpec: Sendable, Equatable {
    case at(Date)
    case ttl(TimeInterval)

    /// Parses `--expires`: `YYYY-MM-DD` (the end of that day, UTC) or a full ISO-8601 datetime
    /// with a zone (`2026-12-01T12:00:00Z`, `2026-12-01T12:00:00+01:00`).
    public static func expires(_ text: String) throws -> ExpirySpec {
        if text.utf8.count == 10, text.utf8.filter({ $0 == 0x2D }).count == 2 {
            do { return .at(try CalendarDay(parsing: text).endOfDay) } catch let e as ClaimGateError {
                throw ClaimGateError(.invalidArgument, "--expires \(e.message)")
            }
        }
        guard text.utf8.count > 10 else {
            throw ClaimGateError(.invalidArgument,
                "--expires '\(text.prefix(40))' is not a date: use YYYY-MM-DD or an ISO-8601 datetime such as 2026-12-01T12:00:00Z.")
        }
        do { return .at(try Timestamp.parseStrict(text)) } catch let e as ClaimGateError {
            throw ClaimGateError(.invalidArgument, "--expires \(e.message) Use YYYY-MM-DD or an ISO-8601 datetime such as 2026-12-01T12:00:00Z.")
        }
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
