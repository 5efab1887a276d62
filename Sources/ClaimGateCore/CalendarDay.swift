import Foundation

/// A calendar date without time, in UTC (`YYYY-MM-DD`).
public struct CalendarDay: Sendable, Codable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) throws {
        var comps = DateComponents()
        comps.year = year; comps.month = month; comps.day = day
        guard (1...12).contains(month), (1...31).contains(day),
              let date = CalendarDay.utc.date(from: comps),
              CalendarDay.utc.component(.day, from: date) == day else {
            throw ClaimGateError(.invalidArgument, "'\(year)-\(month)-\(day)' is not a calendar date: use YYYY-MM-DD.")
        }
        self.year = year; self.month = month; self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else {
            throw ClaimGateError(.invalidArgument, "'\(text.prefix(40))' is not a date: use YYYY-MM-DD.")
        }
        try self.init(year: y, month: m, day: d)
    }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(secondsFromGMT: 0)!   // not TimeZone(identifier:), which loads ICU
        return c
    }()

    /// Midnight UTC at the start of this day.
    public var startOfDay: Date {
        CalendarDay.utc.date(from: DateComponents(year: year, month: month, day: day))!
    }
    /// Midnight UTC at the end of this day (the start of the next).
    public var endOfDay: Date { startOfDay.addingTimeInterval(86_400) }

    public var description: String {
        func pad(_ n: Int, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
    public static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}
