import ClaimGateTesting
import Foundation
import Testing

/// `claimgate approve` on a terminal: it shows the change and asks, and only `y` or `yes`
/// approves. The terminal is a real pseudo-terminal (util-linux `script`), so the command sees
/// `isatty` as a person at the shell would give it.
@Suite struct ApprovePromptEndToEndTests {
    final class Setup: GatewayUnderTest, @unchecked Sendable {
        init() throws {
            try super.init("claimgate-approve-prompt")
            try serveWithOperatorAPI()
        }

        /// `claimgate ARGS` on a pseudo-terminal, typing `input`; the exit status and what the
        /// terminal showed.
        func onTerminal(_ args: [String], typing input: String) throws -> Shell.Result {
            let command = ([ClaimgateBinary.path] + args + ["--home", home]).map { "'\($0)'" }.joined(separator: " ")
            return try Shell.run(["script", "-q", "-e", "-c", command, "/dev/null"], stdin: Data(input.utf8))
        }

        /// A grant of security-officer proposed through the API by one of two security officers:
        /// it waits (four eyes). The change's id.
        func proposeGrant() throws -> String {
            let sam = try addOperator("sam", roles: "security-officer")
            _ = try addOperator("sol", roles: "security-officer")
            _ = try addOperator("claire", roles: "auditor")
            let r = try operatorCurl("/v1/operators/claire/grant", ["-H", "Content-Type: application/json", "-d", #"{"right":"security-officer"}"#], as: sam)
            try #require(r.status == "202", "\(r.body)")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
            return try #require(body["pending"] as? String)
        }
    }

    @Test func onATerminalOnlyYesApproves() throws {
        let s = try Setup()
        let id = try s.proposeGrant()

        let declined = try s.onTerminal(["approve", id], typing: "n\n")
        #expect(declined.status == 1, "\(declined.stdout)")
        #expect(declined.stdout.contains("change \(id): operator-grant claire"), "\(declined.stdout)")
        #expect(declined.stdout.contains("Approve change \(id)? [y/N]"))
        #expect(declined.stdout.contains("Not approved: nothing changed."))
        #expect(try s.sql("SELECT roles FROM operator WHERE name = 'claire'").contains("security-officer") == false)

        // An empty answer is no, too.
        #expect(try s.onTerminal(["approve", id], typing: "\n").status == 1)

        let approved = try s.onTerminal(["approve", id], typing: "yes\n")
        #expect(approved.status == 0, "\(approved.stdout)")
        #expect(approved.stdout.contains("Approved change \(id)"))
        let shown = try ClaimgateBinary.run(["operator", "show", "claire", "--json", "--home", s.home])
        #expect(shown.stdout.contains("\"security-officer\""), "\(shown.stdout)")
        // --yes, or stdin not a terminal, does not ask: the change is settled now, so it is refused (65).
        let again = try ClaimgateBinary.run(["approve", id, "--home", s.home])
        #expect(again.status == 65)
    }
}
