import Foundation

/// The time format of audit entries and checkpoints: ISO-8601 UTC with exactly three fraction
/// digits, such as `2026-11-22T01:02:03.456Z`. The fraction is truncated, not rounded, so a time
/// never moves into the next second.
public enum AuditTime {
    /// Formats `date` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
    public static func format(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        let seconds = t.rounded(.down)
        var millis = Int(((t - seconds) * 1000).rounded(.down))
        millis = min(max(millis, 0), 999)
        var whole = time_t(seconds)
        var parts = tm()
        gmtime_r(&whole, &parts)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var v = value
            var d = [UInt8](repeating: 0x30, count: count)
            for i in stride(from: count - 1, through: 0, by: -1) { d[i] = 0x30 + UInt8(v % 10); v /= 10 }
            out.append(contentsOf: d)
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(0x2D)
        digits(Int(parts.tm_mon) + 1, 2); out.append(0x2D)
        digits(Int(parts.tm_mday), 2); out.append(0x54)
        digits(Int(parts.tm_hour), 2); out.append(0x3A)
        digits(Int(parts.tm_min), 2); out.append(0x3A)
        digits(Int(parts.tm_sec), 2); out.append(0x2E)
        digits(millis, 3); out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses a time in the audit format back to a date; nil when `text` is not in that format.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 24, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A,
              b[19] == 0x2E, b[23] == 0x5A else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var v = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              let millis = number(20..<23), (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second < 61 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second)
        let whole = timegm(&parts)
        return Date(timeIntervalSince1970: TimeInterval(whole) + TimeInterval(millis) / 1000)
    }
}
