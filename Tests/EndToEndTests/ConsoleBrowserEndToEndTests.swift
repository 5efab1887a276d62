import ClaimGateTesting
import Foundation
import Testing

/// The web console (`serve --console`) in a real browser: headless Chromium from Debian's
/// `chromium` and `chromium-driver`, driven by Selenium from PyPI (`scripts/browser-venv`), running
/// `Browser/console_scenarios.py` against a gateway of its own for each scenario of issue 17's
/// Tests. Then the audit trail, read from outside, must hold what the browser did, as `console`.
///
/// Without Chromium or chromedriver these tests fail (they do not skip): run
/// `scripts/install-deps`. The venv is made on first use by `scripts/browser-venv`. With `CLAIMGATE_SCREENSHOTS=DIR` the
/// login-send-recall and zh-CN scenarios save PNGs of the main pages there
/// (`scripts/console-screenshots`).
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ConsoleBrowserEndToEndTests {
    /// The repository, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let script = root + "/Tests/EndToEndTests/Browser/console_scenarios.py"
    static let python = root + "/.build/browser-venv/bin/python"

    /// Passwords at least 12 characters long, one with Chinese characters in it.
    static let operators: [(name: String, roles: String, password: String)] = [
        ("claire", "claims-operator,partner-admin,auditor", "correct horse battery 理赔"),
        ("ada", "auditor", "ada-audits-everything-2025"),
        ("lou", "claims-operator", "lou-sends-claims-daily"),
    ]

    final class Setup: GatewayUnderTest, @unchecked Sendable {
        /// Each operator's TOTP secret (base32), from `claimgate operator totp`.
        var secrets: [String: String] = [:]
        /// A bundle sent at the shell before the console starts (the bundles pages are not empty).
        var bundle = ""

        init() throws {
            try super.init("claimgate-console-browser")
            try onboard(Fixtures.sftpPullAgreement(id: Self.sftpPartner, pki: pki, reference: "DSA-CONSOLE-1"))
            for o in ConsoleBrowserEndToEndTests.operators {
                try addOperator(o.name, roles: o.roles)
                try ok(Shell.run([ClaimgateBinary.path, "operator", "password", o.name, "--home", home],
                                  stdin: Data((o.password + "\n").utf8)))
                let totp = try ClaimgateBinary.run(["operator", "totp", o.name, "--home", home])
                try ok(totp)
                secrets[o.name] = try Self.secret(in: totp.stdout)
            }
            let pdf = try dir.write("shell-report.pdf", "%PDF-1.4\n% sent at the shell\n")
            let sent = try send(pdf, to: Self.sftpPartner, claim: "CLM-2025-0042")
            try ok(sent.result)
            bundle = sent.id
            try serve(extra: ["--console", "127.0.0.1:0"])
        }

        /// The `secret` parameter of an `otpauth://totp/…` URI printed among other lines.
        static func secret(in output: String) throws -> String {
            let uri = try #require(output.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("otpauth://totp/") },
                                   "`operator totp` printed no otpauth://totp/ URI: \(output)")
            let items = URLComponents(string: String(uri))?.queryItems ?? []
            return try #require(items.first { $0.name == "secret" }?.value, "no secret= in \(uri)")
        }

        /// Runs one scenario of the script; its output (stdout, then stderr).
        func scenario(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Shell.Result {
            let config: [String: Any] = [
                "operators": Dictionary(uniqueKeysWithValues: ConsoleBrowserEndToEndTests.operators.map {
                    ($0.name, ["password": $0.password, "totp": secrets[$0.name]!])
                }),
                "partner": Self.sftpPartner, "purpose": "claim-assessment",
                "sender": "claire", "auditor": "ada", "victim": "lou",
            ]
            let file = dir.file("scenario-config.json")
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: file))
            var arguments = [ConsoleBrowserEndToEndTests.python, ConsoleBrowserEndToEndTests.script,
                             "--url", "https://127.0.0.1:\(consolePort)", "--config", file, "--scenario", name, "--ca", trust]
            if let shots = ProcessInfo.processInfo.environment["CLAIMGATE_SCREENSHOTS"], !shots.isEmpty {
                arguments += ["--screenshots", shots.hasPrefix("/") ? shots : ConsoleBrowserEndToEndTests.root + "/" + shots]
            }
            let r = try Shell.run(arguments, environment: ["SE_OFFLINE": "true", "PYTHONUNBUFFERED": "1",
                                                           "no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"])
            #expect(r.succeeded, """
                scenario \(name) failed (exit \(r.status)):
                \(r.stdout)\(r.stderr)
                serve's log:
                \(server?.text.suffix(4000) ?? "")
                """, sourceLocation: sourceLocation)
            return r
        }
    }

    /// Chromium, chromedriver and the venv with Selenium: missing ones fail the test with the fix.
    static func requireBrowser(sourceLocation: SourceLocation = #_sourceLocation) throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool),
                         "\(tool) is missing: run scripts/install-deps (Debian's chromium and chromium-driver) and scripts/browser-venv",
                         sourceLocation: sourceLocation)
        }
        // The venv is made once, by the script that pins it (Selenium, pyotp, requests from PyPI).
        if !FileManager.default.isExecutableFile(atPath: python) {
            let made = try Shell.run([root + "/scripts/browser-venv"])
            try #require(made.succeeded, "scripts/browser-venv failed (\(made.stderr.suffix(2000))): run it by hand to see why",
                         sourceLocation: sourceLocation)
        }
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "the browser tests' venv \(python) is missing: run scripts/browser-venv (Selenium and pyotp from PyPI)",
                     sourceLocation: sourceLocation)
        let imports = try Shell.run([python, "-c", "import selenium, pyotp, requests"])
        try #require(imports.succeeded, "the venv cannot import Selenium or pyotp (\(imports.stderr)): run scripts/browser-venv",
                     sourceLocation: sourceLocation)
    }

    /// Audit entries made through the console, as `action|outcome` lines, for `condition`.
    static func consoleEntries(_ s: Setup, _ condition: String) throws -> [String] {
        try s.sql("SELECT action, outcome FROM event WHERE transport = 'console' AND \(condition) ORDER BY seq")
            .split(separator: "\n").map(String.init)
    }

    @Test func logInSendFindRecallAndAudit() throws {
        try Self.requireBrowser()
        let s = try Setup()
        let r = try s.scenario("login-send-recall")
        try #require(r.succeeded)
        let bundle = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("bundle: ") }?.dropFirst(8))
        // Sent and recalled through the console, as claire.
        let entries = try Self.consoleEntries(s, "bundle_id = '\(bundle)' AND actor LIKE 'operator:claire%'")
        #expect(entries.contains("queue|success"), "\(entries)")
        #expect(entries.contains("recall|success"), "\(entries)")
        // The recall with the wrong code first is refused and recorded too.
        #expect(try !Self.consoleEntries(s, "actor LIKE 'operator:claire%' AND outcome = 'refused'").isEmpty)
        #expect(try s.sql("SELECT state FROM bundle WHERE id = '\(bundle)'") == "recalled")
    }

    @Test func anAuditorHasNoSendPage() throws {
        try Self.requireBrowser()
        let s = try Setup()
        try #require(try s.scenario("auditor").succeeded)
        // Each 403 is recorded as a refusal of ada, through the console.
        let refused = try Self.consoleEntries(s, "actor LIKE 'operator:ada%' AND outcome = 'refused'")
        #expect(refused.count >= 3, "\(refused)")
        #expect(refused.allSatisfy { $0.hasPrefix("operator-refused|") }, "\(refused)")
    }

    @Test func formsWithoutTheTokenOrFromAnotherOriginAreRefused() throws {
        try Self.requireBrowser()
        let s = try Setup()
        try #require(try s.scenario("csrf-origin").succeeded)
        // None of the refused posts sent anything.
        #expect(try Self.consoleEntries(s, "action = 'queue'").isEmpty)
        #expect(try s.sql("SELECT COUNT(*) FROM bundle") == "1")
    }

    @Test func fiveWrongCodesLockTheOperator() throws {
        try Self.requireBrowser()
        let s = try Setup()
        try #require(try s.scenario("lockout").succeeded)
        let refused = try Self.consoleEntries(s, "actor LIKE '%lou%' AND outcome IN ('refused', 'failed')")
        #expect(refused.count >= 6, "five wrong codes and the locked try: \(refused)")
    }

    @Test func chineseByAcceptLanguageAndSwitchable() throws {
        try Self.requireBrowser()
        let s = try Setup()
        try #require(try s.scenario("zh-CN").succeeded)
    }

    @Test func everyPageHasAStrictContentSecurityPolicy() throws {
        try Self.requireBrowser()
        let s = try Setup()
        try #require(try s.scenario("csp").succeeded)
    }
}
