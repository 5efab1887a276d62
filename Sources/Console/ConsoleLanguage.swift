import Foundation

/// The languages the console speaks: Simplified Chinese and English. Each has one catalogue file
/// (`Resources/catalogue/<tag>.json`) holding every string the pages show.
public enum ConsoleLanguage: String, Sendable, CaseIterable, Hashable {
    case zhCN = "zh-CN"
    case en

    /// The language for an `Accept-Language` header (RFC 9110 §12.5.4): the supported language
    /// with the highest weight (`zh`, `zh-CN`, `zh-Hans`… are Simplified Chinese; `zh-TW` and
    /// `zh-Hant` are not offered and fall through); English when none matches.
    /// - Parameter header: the header's value, nil when absent.
    public static func negotiate(_ header: String?) -> ConsoleLanguage {
        guard let header else { return .en }
        var best: (language: ConsoleLanguage, weight: Double)?
        for (index, item) in header.split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first?.lowercased(), !tag.isEmpty else { continue }
            var weight = 1.0
            for p in parts.dropFirst() where p.lowercased().hasPrefix("q=") {
                weight = Double(p.dropFirst(2)) ?? 0
            }
            guard weight > 0, let language = match(tag) else { continue }
            // Equal weights: the earlier one wins (a tiny tie-break by position).
            let score = weight - Double(index) * 1e-6
            if best == nil || score > best!.weight { best = (language, score) }
        }
        return best?.language ?? .en
    }

    /// The language a tag names, when the console offers it.
    static func match(_ tag: String) -> ConsoleLanguage? {
        if tag == "en" || tag.hasPrefix("en-") { return .en }
        if tag == "zh" || tag == "zh-cn" || tag == "zh-sg" || tag.hasPrefix("zh-hans") { return .zhCN }
        return nil
    }

    /// The value of `<html lang>`.
    public var htmlLang: String { rawValue }
}

extension ConsoleLanguage {
    /// The language of a request: the one the operator switched to (the `__Host-claimgate-lang`
    /// cookie, when it names a language the console offers), else `Accept-Language`'s.
    /// - Parameters:
    ///   - cookie: the language cookie's value, nil when absent.
    ///   - acceptLanguage: the `Accept-Language` header, nil when absent.
    public static func preferred(cookie: String?, acceptLanguage: String?) -> ConsoleLanguage {
        if let cookie, let chosen = ConsoleLanguage(rawValue: cookie) { return chosen }
        return negotiate(acceptLanguage)
    }
}
