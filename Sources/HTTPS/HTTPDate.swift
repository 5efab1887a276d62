import Foundation

/// HTTP-date (RFC 9110 §5.6.7): `Last-Modified` is written as an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`); `If-Modified-Since` and `If-Range` are read in that form
/// and in the two obsolete ones a recipient must still accept, RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`). Whole seconds
/// only, in UTC, computed by hand: no formatter, calendar or locale on the download path.
enum HTTPDate {
    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]   // 1970-01-01 was a Thursday
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The IMF-fixdate of `date`, its fraction of a second dropped.
    static func format(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let day = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - day * 86_400
        let (y, m, d) = civil(day)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let weekday = days[Int(((day % 7) + 7) % 7)]
        return "\(weekday), \(two(d)) \(months[Int(m) - 1]) \(y) \(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60)) GMT"
    }

    /// `date` to whole seconds, as an HTTP-date carries it.
    static func truncated(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// An HTTP-date in any of its three forms; `nil` for anything else (the field is then ignored).
    static func parse(_ text: String) -> Date? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" || $0 == ":" }).map(String.init)
        let day: Int64?, month: Int?, year: Int64?, clock: ArraySlice<String>
        switch tokens.count {
        case 8 where tokens[7] == "GMT":
            // IMF-fixdate or RFC 850: weekday, day, month, year, hh, mm, ss, GMT.
            day = Int64(tokens[1]); month = months.firstIndex(of: tokens[2]).map { $0 + 1 }
            year = tokens[3].count == 2 ? Int64(tokens[3]).map(Self.fullYear) : (tokens[3].count == 4 ? Int64(tokens[3]) : nil)
            clock = tokens[4...6]
        case 7:
            // asctime: weekday, month, day, hh, mm, ss, year.
            day = Int64(tokens[2]); month = months.firstIndex(of: tokens[1]).map { $0 + 1 }
            year = tokens[6].count == 4 ? Int64(tokens[6]) : nil
            clock = tokens[3...5]
        default:
            return nil
        }
        let hms = clock.map { $0.count == 2 ? Int64($0) : nil }
        guard let day, let month, let year, (1...31).contains(day), hms.allSatisfy({ $0 != nil }) else { return nil }
        let (h, m, s) = (hms[0]!, hms[1]!, hms[2]!)
        guard h < 24, m < 60, s < 61 else { return nil }
        return Date(timeIntervalSince1970: Double(daysFromCivil(year, Int64(month), day) * 86_400 + h * 3600 + m * 60 + s))
    }

    /// A two-digit year (RFC 850) as RFC 9110 reads it: one more than 50 years ahead is in the past century.
    private static func fullYear(_ yy: Int64) -> Int64 {
        let now = Int64(civil(Int64(Date().timeIntervalSince1970) / 86_400).0)
        let year = now - now % 100 + yy
        return year > now + 50 ? year - 100 : year
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day since 1970-01-01 (`civil_from_days`).
    private static func civil(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
