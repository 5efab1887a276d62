@testable import Console
import Testing

@Suite struct ConsoleLanguageTests {
    @Test(arguments: [
        ("zh-CN,zh;q=0.9,en;q=0.8", ConsoleLanguage.zhCN),
        ("en-US,en;q=0.9,zh-CN;q=0.8", .en),
        ("zh", .zhCN), ("zh-Hans-CN", .zhCN),
        ("zh-TW", .en),                          // Traditional Chinese is not offered
        ("fr-FR, en;q=0.5, zh-CN;q=0.7", .zhCN), // weights, not order
        ("zh-CN;q=0", .en),                      // q=0: not acceptable
        ("", .en), ("*", .en),
    ])
    func acceptLanguagePicksTheBestOffered(header: String, expected: ConsoleLanguage) {
        #expect(ConsoleLanguage.negotiate(header) == expected)
    }

    @Test func noHeaderIsEnglish() {
        #expect(ConsoleLanguage.negotiate(nil) == .en)
    }
}
