@testable import Console
import Foundation
import Testing

/// The catalogues and templates as shipped: every key in both languages, every key a template
/// or a route uses present, escaped output only.
@Suite struct ConsoleCatalogueTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/Console").path
    static let resources = sources + "/Resources"

    static func catalogue(_ language: ConsoleLanguage) throws -> [String: String] {
        try ConsoleCatalogue.load(language, from: resources + "/catalogue").strings
    }

    static func files(_ folder: String, _ suffix: String) throws -> [(name: String, text: String)] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(suffix) }.sorted().map {
            ($0, try String(contentsOfFile: folder + "/" + $0, encoding: .utf8))
        }
    }

    static func matches(_ pattern: String, in text: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    @Test func bothCataloguesHoldTheSameKeysAndNoEmptyText() throws {
        let en = try Self.catalogue(.en), zh = try Self.catalogue(.zhCN)
        #expect(!en.isEmpty)
        #expect(Set(en.keys).subtracting(zh.keys).sorted() == [], "missing in zh-CN.json")
        #expect(Set(zh.keys).subtracting(en.keys).sorted() == [], "missing in en.json")
        for (key, text) in en.merging(zh, uniquingKeysWith: { a, _ in a }) { #expect(!text.isEmpty, "\(key)") }
    }

    @Test func theChineseCatalogueIsChinese() throws {
        let zh = try Self.catalogue(.zhCN)
        let han = { (s: String) in s.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) } }
        for key in ["nav_bundles", "nav_send", "nav_audit", "login_password", "login_totp", "login_submit", "title_forbidden", "error_csrf"] {
            #expect(han(zh[key] ?? ""), "\(key): \(zh[key] ?? "missing")")
        }
    }

    @Test func everyKeyTemplatesAndRoutesUseExists() throws {
        let en = try Self.catalogue(.en), zh = try Self.catalogue(.zhCN)
        var used = Set<String>()
        for (name, text) in try Self.files(Self.resources + "/templates", ".mustache") {
            let keys = try Self.matches(#"\{\{[#^/]?\s*t\.([A-Za-z0-9_]+)\s*\}\}"#, in: text)
            for key in keys { #expect(en[key] != nil && zh[key] != nil, "\(name) uses t.\(key)") }
            used.formUnion(keys)
        }
        for (name, text) in try Self.files(Self.sources, ".swift") {
            let keys = try Self.matches(#"(?:text|title:)\s*\(?\s*"([a-z][a-z0-9_]+)""#, in: text)
            for key in keys { #expect(en[key] != nil && zh[key] != nil, "\(name) uses \(key)") }
            used.formUnion(keys)
        }
        #expect(used.count > 50)
    }

    @Test func templatesEscapeEverything() throws {
        let templates = try Self.files(Self.resources + "/templates", ".mustache")
        #expect(templates.contains { $0.name == "layout.mustache" })
        for (name, text) in templates {
            // No unescaped output: neither triple mustaches nor `{{& …}}`, and no changed delimiters.
            #expect(!text.contains("{{{"), "\(name) uses a triple mustache")
            #expect(!text.contains("{{&"), "\(name) uses unescaped output")
            #expect(!text.contains("{{="), "\(name) changes the delimiters")
            // No script and no inline style: the CSP allows neither.
            #expect(!text.lowercased().contains("<script"), "\(name) has a script")
            #expect(!text.lowercased().contains("style="), "\(name) has an inline style")
            #expect(!text.lowercased().contains("<style"), "\(name) has an inline stylesheet")
            let handlers = try Self.matches(#"\s(on[a-z]+)="#, in: text)
            #expect(handlers.isEmpty, "\(name) has an event handler")
        }
    }

    @Test func theTemplatesLoadAndRenderEscaped() async throws {
        let views = try await ConsoleViews.load()
        var page = ConsolePage(language: .zhCN, timeZone: TimeZone(identifier: "Asia/Shanghai")!, path: "/bundles?x=\"1\"")
        page.operatorName = "<b>eve</b>"
        page.offered = [.bundleList, .auditReport]
        page.csrf = "t0ken"
        let body = views.html("error", page, title: "title_forbidden", ["error": "<script>x</script>"])
        #expect(body.contains("&lt;script&gt;x&lt;/script&gt;") && !body.contains("<script>"))
        #expect(body.contains("&lt;b&gt;eve&lt;/b&gt;"))
        #expect(body.contains("<html lang=\"zh-CN\">"))
        #expect(body.contains("id=\"nav-bundles\"") && body.contains("id=\"nav-audit\""))
        #expect(!body.contains("id=\"nav-send\"") && !body.contains("id=\"nav-operators\""))
        #expect(body.contains("back=%2Fbundles%3Fx%3D%221%22"))
        #expect(body.contains("name=\"csrf\" value=\"t0ken\""))
        #expect(body.contains("无权访问"))
    }

    @Test func datesAreShownInTheOperatorsZone() {
        let date = Date(timeIntervalSince1970: 1_796_000_000)   // 2026-11-30T00:53:20Z
        #expect(ConsoleDates.format(date, in: TimeZone(identifier: "UTC")!).hasPrefix("2026-11-30 00:53 "))
        #expect(ConsoleDates.format(date, in: TimeZone(identifier: "Asia/Shanghai")!).hasPrefix("2026-11-30 08:53 "))
        #expect(ConsoleDates.zone("Asia/Shanghai") != nil)
        #expect(ConsoleDates.zone("UTC") != nil)
        #expect(ConsoleDates.zone("Mars/Olympus") == nil)
        #expect(ConsoleDates.zone("<b>") == nil)
        #expect(ConsoleDates.zone("") == nil)
    }

    @Test(arguments: [("/bundles?claim=1", "/bundles?claim=1"), ("//evil.example/", "/"), ("/\\evil", "/"),
                      ("https://evil.example/", "/"), ("", "/"), ("/a b", "/"), ("/audit", "/audit")])
    func languageLinksReturnOnlyToLocalPaths(back: String, expected: String) {
        #expect(ConsoleRoutes.localPath(back) == expected)
    }

    @Test func constantTimeComparison() {
        #expect(ConsoleCookies.constantTimeEqual("abc", "abc"))
        #expect(!ConsoleCookies.constantTimeEqual("abc", "abd"))
        #expect(!ConsoleCookies.constantTimeEqual("abc", "abcd"))
        #expect(!ConsoleCookies.constantTimeEqual("", ""))
        let a = ConsoleCookies.randomToken(), b = ConsoleCookies.randomToken()
        #expect(a != b && a.utf8.count == 43 && !a.contains("=") && !a.contains("+") && !a.contains("/"))
    }
}
