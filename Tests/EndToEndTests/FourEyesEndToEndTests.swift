import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Testing

/// `claimgate pending` and `claimgate approve` through the built binary. An operator's change
/// waits for a second operator only when an operator asks (the CLI acts as the shell, which is
/// break-glass), so the proposals are made through the operations with operator principals, as
/// the operator API makes them; the binary lists them and approves them on the same home.
@Suite(.serialized) struct FourEyesEndToEndTests {
    final class Setup: GatewayUnderTest, @unchecked Sendable {
        /// The same home, opened in this process, where operators act.
        private(set) var gateway: Gateway!
        /// A partner admin, as the operator API would name it.
        private(set) var pat = Principal.system

        init() throws {
            try super.init("claimgate-foureyes")
            try onboard(Fixtures.sftpPullAgreement(id: Self.sftpPartner, pki: pki, reference: "DSA-4E-1"))
            for name in ["pat", "quinn"] {
                try ok(claimgate(["operator", "add", name, "--role", "partner-admin", "--out", dir.path + "/operators"]))
            }
            let show = try JSONSerialization.jsonObject(with: claimgate(["operator", "show", "pat", "--json"]).stdoutData) as? [String: Any]
            pat = .operator(try OperatorID("pat"), fingerprint: try #require(show?["certificate_sha256"] as? String))
            gateway = try Gateway.open(home: Home(root: home))
        }

        func claimgate(_ args: [String]) throws -> Shell.Result { try ClaimgateBinary.run(args + ["--home", home]) }
        func json(_ r: Shell.Result) throws -> Any { try JSONSerialization.jsonObject(with: r.stdoutData) }
    }

    @Test func pendingListsAChangeAndApproveYesAppliesItAsProposed() throws {
        let s = try Setup()
        let file = try s.agreementFile(Fixtures.sftpPullAgreement(id: Setup.sftpPartner, pki: s.pki, reference: "DSA-4E-2"))
        let change = try #require(try s.gateway.updatePartner(agreementFile: file, by: s.pat).pendingChange)
        try FileManager.default.removeItem(atPath: file)

        let list = try s.claimgate(["pending", "--json"])
        try s.ok(list)
        let rows = try #require(try s.json(list) as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["id"] as? String == change.id.rawValue)
        #expect(rows.first?["state"] as? String == "pending")
        #expect(rows.first?["action"] as? String == "partner-update")
        #expect(rows.first?["partner"] as? String == Setup.sftpPartner)
        #expect(rows.first?["proposed_by"] as? String == s.pat.actor.description)
        let text = try s.claimgate(["pending"])
        #expect(text.stdout.contains(change.id.rawValue) && text.stdout.contains("partner-update"))

        let show = try s.claimgate(["pending", "show", change.id.rawValue])
        try s.ok(show)
        #expect(show.stdout.contains("agreement.reference: DSA-4E-1 -> DSA-4E-2"))

        let approve = try s.claimgate(["approve", change.id.rawValue, "--yes"])
        try s.ok(approve)
        #expect(approve.stdout.contains("agreement.reference: DSA-4E-1 -> DSA-4E-2"))
        #expect(approve.stdout.contains("Approved change \(change.id)"))
        let partner = try s.json(s.claimgate(["partner", "show", Setup.sftpPartner, "--json"])) as? [String: Any]
        #expect(partner?["agreement_reference"] as? String == "DSA-4E-2")
        #expect(partner?["agreement_version"] as? Int == 2)

        // Settled: no longer listed as pending, listed with --all, and not approved twice (65).
        #expect(try s.json(s.claimgate(["pending", "--json"])) as? [Any] != nil)
        #expect((try s.json(s.claimgate(["pending", "--json"])) as? [Any])?.isEmpty == true)
        let all = try s.json(s.claimgate(["pending", "--all", "--json"])) as? [[String: Any]]
        #expect(all?.first?["state"] as? String == "approved")
        let again = try s.claimgate(["approve", change.id.rawValue, "--yes"])
        #expect(again.status == 65)
        #expect(again.stderr.contains("approved"))
        #expect(try s.claimgate(["approve", "nosuchchng", "--yes"]).status == 66)

        // Without --yes, stdin not a terminal: approved without asking.
        let file2 = try s.agreementFile(Fixtures.sftpPullAgreement(id: Setup.sftpPartner, pki: s.pki, reference: "DSA-4E-3"))
        let second = try #require(try s.gateway.updatePartner(agreementFile: file2, by: s.pat).pendingChange)
        try s.ok(s.claimgate(["approve", second.id.rawValue]))
        let after = try s.json(s.claimgate(["partner", "show", Setup.sftpPartner, "--json"])) as? [String: Any]
        #expect(after?["agreement_reference"] as? String == "DSA-4E-3")

        // Attributed to the shell's real account, naming the proposer; the trail verifies.
        let trail = try s.claimgate(["audit", "verify"])
        #expect(trail.status == 0, "\(trail.stdout) \(trail.stderr)")
        let entries = try s.gateway.store.events()
        let updated = try #require(entries.last { $0.action == "partner-updated" })
        #expect(updated.actor.hasPrefix("local:uid=\(getuid())"))
        #expect(updated.subject?.hasSuffix("change \(second.id) proposed by operator:pat") == true)
        #expect(entries.filter { $0.action == "change-approved" }.count == 2)
    }

    @Test func pendingWithdrawAtTheShell() throws {
        let s = try Setup()
        let change = try #require(try s.gateway.removePartner(Setup.sftpPartner, force: false, reason: nil, by: s.pat).pendingChange)
        let withdraw = try s.claimgate(["pending", "withdraw", change.id.rawValue])
        try s.ok(withdraw)
        #expect(try s.claimgate(["approve", change.id.rawValue, "--yes"]).status == 65)
        let partner = try s.json(s.claimgate(["partner", "show", Setup.sftpPartner, "--json"])) as? [String: Any]
        #expect(partner?["status"] as? String == "active")
    }
}
