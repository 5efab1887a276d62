import ClaimGateTesting
import Foundation
import Testing

/// `claimgate audit report`'s staff sections through the built binary, on a home where
/// `operator add`, `grant` and `suspend` were run at the shell: each is a local action in the
/// month, the grants review says the shell (by its real uid) gave every right, and `audit
/// verify` is intact.
@Suite(.serialized) struct OperatorReportEndToEndTests {
    @Test func theReportListsTheShellsOperatorChangesAndReviewsTheGrants() throws {
        let g = try GatewayUnderTest("claimgate-operator-report")
        try g.onboard(Fixtures.sftpPullAgreement(id: GatewayUnderTest.sftpPartner, pki: g.pki, reference: "DSA-OPREPORT-1"))
        func claimgate(_ args: [String]) throws -> Shell.Result { try ClaimgateBinary.run(args + ["--home", g.home]) }
        let out = g.dir.path + "/handover"
        try g.ok(claimgate(["operator", "add", "claire", "--role", "claims-operator", "--grant", "inbox-export", "--out", out]))
        try g.ok(claimgate(["operator", "add", "sam", "--role", "security-officer", "--partners", GatewayUnderTest.sftpPartner, "--out", out]))
        try g.ok(claimgate(["operator", "grant", "claire", "auditor"]))
        try g.ok(claimgate(["operator", "suspend", "sam"]))

        let uid = try Shell.run(["id", "-u"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let name = try Shell.run(["id", "-un"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let shell = "local:uid=\(uid)(\(name))"
        let month = String(try Shell.run(["date", "-u", "+%Y-%m"]).stdout.prefix(7))

        let report = try claimgate(["audit", "report", "--month", month, "--format", "json"])
        try g.ok(report)
        let top = try #require(try JSONSerialization.jsonObject(with: report.stdoutData) as? [String: Any])
        // No operator acted: operators act through the operator API, not this shell.
        #expect((top["operators"] as? [Any])?.isEmpty == true)

        let local = try #require(top["local_actions"] as? [[String: Any]])
        #expect(local.allSatisfy { $0["actor"] as? String == shell && $0["kind"] as? String == "local" })
        let actions = local.map { $0["action"] as? String ?? "" }
        #expect(actions.contains("gateway-initialised"))
        #expect(actions.contains("partner-onboarded"))
        #expect(actions.filter { $0.hasPrefix("operator-") } == ["operator-added", "operator-added", "operator-granted", "operator-suspended"])
        let granted = try #require(local.first { $0["action"] as? String == "operator-granted" })
        #expect((granted["subject"] as? String)?.hasPrefix("claire auditor -> roles=auditor,claims-operator") == true)

        let review = try #require(top["grants_review"] as? [String: Any])
        let operators = try #require(review["operators"] as? [[String: Any]])
        #expect(operators.map { $0["operator"] as? String } == ["claire", "sam"])
        let claire = try #require(operators.first)
        let rights = try #require(claire["rights"] as? [[String: Any]])
        #expect(rights.map { $0["right"] as? String } == ["auditor", "claims-operator", "inbox-export"])
        #expect(rights.allSatisfy { $0["granted_by"] as? String == shell && $0["unused"] as? Bool == false })
        let auditorGranted = try #require(rights.first?["granted_sequence"] as? Int)
        let claimsGranted = try #require(rights.last?["granted_sequence"] as? Int)
        #expect(auditorGranted > claimsGranted, "auditor came with the grant, the others with the addition")
        let sam = try #require(operators.last)
        #expect(sam["state"] as? String == "suspended")
        #expect(sam["partners"] as? [String] == [GatewayUnderTest.sftpPartner])
        #expect(sam["all_partners"] as? Bool == false)

        let mdShell = shell.replacingOccurrences(of: "_", with: "\\_")   // Markdown escapes what it would read as markup
        let md = try claimgate(["audit", "report", "--month", month])
        try g.ok(md)
        #expect(md.stdout.contains("## Operators\n\nNo operator entries in this period."))
        #expect(md.stdout.contains("| \(mdShell) | operator-granted | success | claire auditor -\\> roles=auditor,claims-operator"))
        #expect(md.stdout.contains("## Grants review"))
        #expect(md.stdout.contains("| sam | suspended | \(GatewayUnderTest.sftpPartner) | security-officer | \(mdShell) |"))
        let csv = try claimgate(["audit", "report", "--month", month, "--format", "csv"])
        try g.ok(csv)
        #expect(csv.stdout.contains("\n,grant,claire/inbox-export,0,grant; active; granted by \(shell) at "))
        #expect(csv.stdout.contains("\n,local-action,"))

        try g.ok(claimgate(["audit", "verify"]))
    }
}
