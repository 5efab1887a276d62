import ClaimGateCore
import Foundation

/// What every page of one request shares: its language, the time zone dates are shown in, the
/// path the language links come back to, and, once logged in, the operator, the pages its roles
/// offer and the session's CSRF token.
struct ConsolePage: Sendable {
    var language: ConsoleLanguage
    var timeZone: TimeZone
    /// The request's path and query: where the language links return.
    var path: String
    /// The logged-in operator's name; nil on the login page.
    var operatorName: String? = nil
    /// The actions the operator's roles allow, to decide which pages the navigation links to.
    var offered: Set<OperatorAction> = []
    /// The token every form carries (the session's; the login form's own before login).
    var csrf: String = ""

    /// The navigation's links, each shown only when one of the operator's roles allows the page.
    var navigation: [String: Bool] {
        [
            "dashboard": operatorName != nil,
            "send": offered.contains(.send),
            "bundles": offered.contains(.bundleList),
            "deliveries": offered.contains(.deliveriesView),
            "inbox": offered.contains(.inboxList),
            "partners": offered.contains(.partnerList),
            "pending": offered.contains(.pendingList),
            "audit": !offered.isDisjoint(with: [.auditVerify, .auditReport, .auditImpact]),
            "operators": offered.contains(.operatorList),
        ]
    }

    /// What the layout shows: `lang`, the catalogue as `t`, `nav`, `operator`, `csrf` and the
    /// language links' return path (`back`, already percent-encoded for a query).
    func layoutValues(_ catalogue: ConsoleCatalogue) -> [String: Any] {
        var values: [String: Any] = [
            "lang": language.htmlLang,
            "t": catalogue.strings,
            "nav": navigation,
            "csrf": csrf,
            "back": ConsoleForm.queryEncoded(path),
            "isZH": language == .zhCN,
        ]
        if let operatorName { values["operator"] = operatorName; values["signedIn"] = true }
        return values
    }

    /// A date as the operator reads it: `2026-12-07 19:38 CST`, in the page's time zone.
    func date(_ date: Date) -> String { ConsoleDates.format(date, in: timeZone) }
}

/// How the console writes dates and checks the time zones operators pick.
enum ConsoleDates {
    /// `yyyy-MM-dd HH:mm zzz` in `zone` (a fixed, language-neutral form).
    static func format(_ date: Date, in zone: TimeZone) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.calendar = Calendar(identifier: .gregorian)
        f.timeZone = zone
        f.dateFormat = "yyyy-MM-dd HH:mm zzz"
        return f.string(from: date)
    }

    /// The time zone an IANA id names (`Asia/Shanghai`, `UTC`); nil for anything else, so a
    /// cookie cannot carry an offset or text the console would show.
    static func zone(_ id: String) -> TimeZone? {
        guard (1...64).contains(id.utf8.count),
              id.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "/_-+".unicodeScalars.contains($0)) }),
              TimeZone.knownTimeZoneIdentifiers.contains(id) || id == "UTC" else { return nil }
        return TimeZone(identifier: id)
    }
}
