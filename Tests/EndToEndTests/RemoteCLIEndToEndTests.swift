import ClaimGateTesting
import Foundation
import Testing

/// The command line in remote mode (`CLAIMGATE_GATEWAY`, `CLAIMGATE_OPERATOR_CERT`,
/// `CLAIMGATE_OPERATOR_KEY`, `CLAIMGATE_GATEWAY_CA`) against a running `claimgate serve
/// --operator-api`: the same output and exit status as the same command on the gateway's home,
/// no home on the operator's side, documents and agreement files sent by the client, and every
/// action recorded as the operator.
@Suite struct RemoteCLIEndToEndTests {
    final class Setup: GatewayUnderTest, @unchecked Sendable {
        init() throws {
            try super.init("claimgate-remote-cli")
            try onboard(Fixtures.sftpPullAgreement(id: Self.sftpPartner, pki: pki, reference: "DSA-REMOTE-1"))
            try serveWithOperatorAPI()
        }

        /// The operator's machine: a folder with no gateway home in it.
        var workstationDir: String {
            let path = dir.path + "/workstation"
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return path
        }

        /// `claimgate ARGS` on the gateway's home, at its shell.
        func local(_ args: [String]) throws -> Shell.Result {
            try ClaimgateBinary.run(args + ["--home", home], directory: dir.path)
        }

        /// `claimgate ARGS` on the operator's machine in remote mode as `credential`, from a folder
        /// without a home, `CLAIMGATE_HOME` pointing nowhere.
        func remote(_ args: [String], as credential: (cert: String, key: String), extra: [String: String] = [:]) throws -> Shell.Result {
            try ClaimgateBinary.run(args, environment: [
                "CLAIMGATE_GATEWAY": "https://127.0.0.1:\(operatorAPIPort)", "CLAIMGATE_GATEWAY_CA": trust,
                "CLAIMGATE_OPERATOR_CERT": credential.cert, "CLAIMGATE_OPERATOR_KEY": credential.key,
                "CLAIMGATE_HOME": workstationDir + "/no-home",
            ].merging(extra) { $1 }, directory: workstationDir)
        }

        func document(_ name: String, _ text: String) throws -> String { try dir.write(name, text) }
    }

    /// Output with the gateway's clock readings (which differ between two runs) blanked.
    static func steady(_ text: String) -> String {
        text.replacingOccurrences(of: #""(checked_at|generated)" : "[^"]*""#, with: "", options: .regularExpression)
    }

    @Test func readCommandsPrintTheSameRemotelyAsOnTheHome() throws {
        let s = try Setup()
        let auditor = try s.addOperator("ada", roles: "auditor")
        let claims = try s.addOperator("claire", roles: "claims-operator")
        let pdf = try s.document("report.pdf", "%PDF-1.4 remote\n")
        let sent = try s.remote(["send", "--partner", GatewayUnderTest.sftpPartner, "--claim", "CLM-R-1", "--purpose", "claim-assessment",
                                 "--ttl", "7d", "--meta", "claimant.national_id=756.1234.5678.97", pdf], as: claims)
        try s.ok(sent)
        let id = sent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let commands: [[String]] = [
            ["bundle", "list"], ["bundle", "list", "--json"], ["bundle", "list", "--partner", GatewayUnderTest.sftpPartner],
            ["bundle", "show", id], ["bundle", "show", id, "--json"],
            ["partner", "list"], ["partner", "list", "--json"],
            ["partner", "show", GatewayUnderTest.sftpPartner], ["partner", "show", GatewayUnderTest.sftpPartner, "--json"],
            ["operator", "list"], ["operator", "list", "--json"], ["operator", "show", "claire"], ["operator", "show", "claire", "--json"],
            ["inbox", "list"], ["inbox", "list", "--json"], ["inbox", "list", "--partner", GatewayUnderTest.sftpPartner],
            ["deliveries"], ["deliveries", "--partner", GatewayUnderTest.sftpPartner, "--json"], ["deliveries", "--partner", "nobody"],
            ["audit", "impact", "--partner", GatewayUnderTest.sftpPartner],
            ["audit", "impact", "--claim", "CLM-R-1", "--format", "csv"],
            ["bundle", "show", "00000000-0000-0000-0000-000000000000"],   // unknown: 66 both ways
            ["partner", "show", "nobody"],
        ]
        for command in commands {
            let here = try s.local(command), there = try s.remote(command, as: auditor)
            #expect(there.status == here.status, "\(command): local \(here.status) remote \(there.status) \(there.stderr)")
            #expect(Self.steady(there.stdout) == Self.steady(here.stdout), "\(command)")
            #expect(there.stderr == here.stderr, "\(command)")
        }
        // The send: sealed by the operator through the API, as the audit trail says.
        let fingerprint = try s.certificateSHA256(claims.cert)
        #expect(try s.sql("SELECT actor, transport FROM event WHERE action = 'queue'") == "operator:claire;sha256=\(fingerprint)|operator-api")
        // Nothing was made on the operator's side: no home, no database.
        #expect(!FileManager.default.fileExists(atPath: s.workstationDir + "/no-home"))
        #expect(!FileManager.default.fileExists(atPath: s.workstationDir + "/.claimgate"))
        try s.ok(s.local(["audit", "verify"]))
    }

    @Test func refusalsAndFailuresExitAsLocallyWithTheSameSentence() throws {
        let s = try Setup()
        let claims = try s.addOperator("claire", roles: "claims-operator")
        // A role missing: 77, the sentence the operation says.
        let refused = try s.remote(["audit", "verify"], as: claims)
        #expect(refused.status == 77)
        #expect(refused.stderr.hasPrefix("error: Operator claire may not run `audit verify`"), "\(refused.stderr)")
        #expect(try s.sql("SELECT reason_code, subject, transport FROM event WHERE action = 'operator-refused'") == "role-missing|audit-verify|operator-api")
        // A document that is not there: refused before anything is sent, as locally (66).
        let missing = try s.remote(["send", "--partner", GatewayUnderTest.sftpPartner, "--claim", "C", "--purpose", "claim-assessment",
                                    "--ttl", "1d", s.dir.path + "/nothing.pdf"], as: claims)
        let missingHere = try s.local(["send", "--partner", GatewayUnderTest.sftpPartner, "--claim", "C", "--purpose", "claim-assessment",
                                       "--ttl", "1d", s.dir.path + "/nothing.pdf"])
        #expect(missing.status == 66 && missingHere.status == 66)
        #expect(missing.stderr == missingHere.stderr)
        // A policy refusal (a purpose the agreement does not allow): 65 both ways, and recorded.
        let pdf = try s.document("a.pdf", "%PDF-1.4\n")
        let policy = try s.remote(["send", "--partner", GatewayUnderTest.sftpPartner, "--claim", "C", "--purpose", "marketing", "--ttl", "1d", pdf], as: claims)
        let policyHere = try s.local(["send", "--partner", GatewayUnderTest.sftpPartner, "--claim", "C", "--purpose", "marketing", "--ttl", "1d", pdf])
        #expect(policy.status == 65 && policyHere.status == 65, "\(policy.stderr)")
        #expect(policy.stderr == policyHere.stderr)

        // Incomplete settings: 64, naming what is missing.
        let incomplete = try ClaimgateBinary.run(["bundle", "list"], environment: ["CLAIMGATE_GATEWAY": "https://127.0.0.1:\(s.operatorAPIPort)"],
                                                 directory: s.workstationDir)
        #expect(incomplete.status == 64)
        #expect(incomplete.stderr.contains("--operator-cert (or $CLAIMGATE_OPERATOR_CERT)"), "\(incomplete.stderr)")
        // A partner's certificate is refused at the handshake: 74, saying what to check.
        let partner = (cert: "\(s.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.pem", key: "\(s.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.key")
        let handshake = try s.remote(["bundle", "list"], as: partner)
        #expect(handshake.status == 74)
        #expect(handshake.stderr.contains("TLS handshake"), "\(handshake.stderr)")
        // Nothing listening: 74.
        let closed = try s.remote(["bundle", "list"], as: claims, extra: ["CLAIMGATE_GATEWAY": "https://127.0.0.1:1"])
        #expect(closed.status == 74)
        #expect(closed.stderr.contains("Nothing answers at https://127.0.0.1:1"), "\(closed.stderr)")
    }

    @Test func sealWritesTheBundleOnTheOperatorsMachineAndItOpensWithStockTools() throws {
        let s = try Setup()
        let claims = try s.addOperator("claire", roles: "claims-operator")
        let pdf = try s.document("scan.pdf", "%PDF-1.4 " + String(repeating: "x", count: 300_000))
        let out = s.workstationDir + "/scan.p7m"
        let r = try s.remote(["seal", "--out", out, "--partner", GatewayUnderTest.sftpPartner, "--claim", "CLM-S", "--purpose", "claim-assessment",
                              "--ttl", "2d", "--json", pdf], as: claims)
        try s.ok(r)
        let view = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        #expect(view["file"] as? String == out)
        #expect(view["state"] as? String == "sealed")
        // The partner's stock tools open it.
        let partnerDir = "\(s.pki)/\(GatewayUnderTest.sftpPartner)"
        let opened = s.dir.path + "/opened"
        try FileManager.default.createDirectory(atPath: opened, withIntermediateDirectories: true)
        try s.ok(Shell.bash("""
            openssl cms -decrypt -binary -inform DER -in '\(out)' -recip '\(partnerDir)/encryption.pem' -inkey '\(partnerDir)/encryption.key' \
              | openssl cms -verify -binary -inform DER -CAfile '\(s.trust)' -purpose any | tar -x -C '\(opened)'
            """))
        #expect(try s.sha256(opened + "/documents/scan.pdf") == (try s.sha256(pdf)))
        // A second seal to the same file is refused before anything is sealed, and the file stays.
        let again = try s.remote(["seal", "--out", out, "--partner", GatewayUnderTest.sftpPartner, "--claim", "CLM-S", "--purpose", "claim-assessment",
                                  "--ttl", "2d", pdf], as: claims)
        #expect(again.status == 64, "\(again.stderr)")
        #expect(try s.sql("SELECT count(*) FROM bundle") == "1")
    }

    @Test func operatorAddMakesTheKeyOnTheOperatorsMachine() throws {
        let s = try Setup()
        let officer = try s.addOperator("sol", roles: "security-officer")
        let out = s.workstationDir + "/issued"
        let r = try s.remote(["operator", "add", "olga", "--role", "auditor", "--out", out], as: officer)
        try s.ok(r)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("Added operator olga (roles=auditor grants=- partners=*)") == true, "\(r.stdout)")
        // The fingerprint as openssl prints it, the key private to its owner and matching the certificate.
        #expect(lines.last == (try s.openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", out + "/olga.pem"])))
        let mode = try FileManager.default.attributesOfItem(atPath: out + "/olga.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try s.openssl(["pkey", "-in", out + "/olga.key", "-pubout"]) == (try s.openssl(["x509", "-in", out + "/olga.pem", "-noout", "-pubkey"])))
        // olga works at once, through the CLI too.
        let olga = (cert: out + "/olga.pem", key: out + "/olga.key")
        try s.ok(s.remote(["audit", "verify"], as: olga))
        #expect(try s.sql("SELECT actor FROM event WHERE action = 'operator-added' AND subject LIKE 'olga %'").hasPrefix("operator:sol;sha256="))
    }

    @Test func auditExportAndReportStreamToTheOperator() throws {
        let s = try Setup()
        let auditor = try s.addOperator("ada", roles: "auditor")
        let file = s.workstationDir + "/audit.jsonl"
        let r = try s.remote(["audit", "export", "-o", file], as: auditor)
        try s.ok(r)
        #expect(r.stderr.hasPrefix("exported "), "\(r.stderr)")
        // The export verifies on its own with the gateway's audit key.
        let key = try s.dir.write("audit.pub", try s.local(["identity", "--audit-pem"]).stdout)
        try s.ok(ClaimgateBinary.run(["audit", "verify", "--from-export", file, "--key", key]))
        #expect(try s.sql("SELECT actor, transport FROM event WHERE action = 'audit-exported'").hasPrefix("operator:ada;sha256="))
        // The monthly review in each format, as the home prints it (the generated time aside).
        for format in ["md", "csv"] {
            let month = String(Date().ISO8601Format().prefix(7))
            let there = try s.remote(["audit", "report", "--month", month, "--format", format], as: auditor)
            try s.ok(there)
            #expect(!there.stdout.isEmpty)
            #expect(there.stdout.contains(GatewayUnderTest.sftpPartner))
        }
        // --key is for verifying with a key you hold: refused remotely with the way to do it.
        let withKey = try s.remote(["audit", "verify", "--key", key], as: auditor)
        #expect(withKey.status == 64)
        #expect(withKey.stderr.contains("--from-export"))
    }

    @Test func agreementChangesGoThroughFourEyesFromTheOperatorsMachine() throws {
        let s = try Setup()
        let pat = try s.addOperator("pat", roles: "partner-admin")
        let quinn = try s.addOperator("quinn", roles: "partner-admin")
        let file = try s.agreementFile(Fixtures.stMarysAgreement(pki: s.pki, reference: "DSA-REMOTE-2"))

        // pat proposes: the agreement and its certificates travel with the request; it waits.
        let proposed = try s.remote(["partner", "add", file], as: pat)
        try s.ok(proposed)
        let first = proposed.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("pending change "), "\(proposed.stdout)")
        let id = String(first.dropFirst("pending change ".count))
        #expect(proposed.stdout.contains("partner-add \(GatewayUnderTest.httpsPartner) waits for a second operator"))
        #expect(try s.local(["partner", "show", GatewayUnderTest.httpsPartner]).status == 66)

        // Its proposer cannot approve it (77); quinn sees it and approves it without a terminal.
        let selfApproval = try s.remote(["approve", id], as: pat)
        #expect(selfApproval.status == 77, "\(selfApproval.stderr)")
        #expect(try s.remote(["pending"], as: quinn).stdout.contains(id))
        #expect(try s.remote(["pending", "show", id], as: quinn).stdout == (try s.local(["pending", "show", id])).stdout)
        let approved = try s.remote(["approve", id], as: quinn)
        try s.ok(approved)
        #expect(approved.stdout.contains("Approved change \(id) (partner-add \(GatewayUnderTest.httpsPartner), proposed by operator:pat;sha256="), "\(approved.stdout)")
        #expect(approved.stdout.contains("\(GatewayUnderTest.httpsPartner): agreement DSA-REMOTE-2 version 1"))
        try s.ok(s.local(["partner", "show", GatewayUnderTest.httpsPartner]))

        // An update proposed, then withdrawn by its proposer only.
        let edited = try s.agreementFile(Fixtures.stMarysAgreement(pki: s.pki, reference: "DSA-REMOTE-3"))
        let update = try s.remote(["partner", "update", edited, "--json"], as: pat)
        try s.ok(update)
        let pending = try #require(try JSONSerialization.jsonObject(with: update.stdoutData) as? [String: String])
        let change = try #require(pending["pending"])
        #expect(try s.remote(["pending", "withdraw", change], as: quinn).status == 77)
        let withdrawn = try s.remote(["pending", "withdraw", change], as: pat)
        try s.ok(withdrawn)
        #expect(withdrawn.stdout.hasPrefix("Withdrew change \(change) (partner-update \(GatewayUnderTest.httpsPartner))"), "\(withdrawn.stdout)")
        // A file missing on the operator's machine is refused there, as locally (66).
        let missing = try s.remote(["partner", "add", s.dir.path + "/absent.yaml"], as: pat)
        #expect(missing.status == 66)
        #expect(missing.stderr == (try s.local(["partner", "add", s.dir.path + "/absent.yaml"])).stderr)
        try s.ok(s.local(["audit", "verify"]))
    }

    @Test func inboxExportDownloadsTheDocumentsAndTheManifestAsLocally() throws {
        let s = try Setup()
        let ines = try s.addOperator("ines", roles: "claims-operator", extra: ["--grant", "inbox-export"])
        let doc = try s.document("assessment.pdf", "%PDF-1.4\nloss assessment for CLM-IN\n")
        try s.ok(Fixtures.sealReport(home: s.home, pki: s.pki, partner: GatewayUnderTest.sftpPartner, claim: "CLM-IN", document: doc,
                                     out: s.dir.file("report.p7m"), scratch: s.dir))
        try s.ok(s.sftp("put report.p7m /inbox/report-in.p7m"))
        let listed = try s.remote(["inbox", "list", "--json"], as: ines)
        try s.ok(listed)
        let reports = try #require(try JSONSerialization.jsonObject(with: listed.stdoutData) as? [[String: Any]])
        let id = try #require(reports.first { $0["state"] as? String == "accepted" }?["id"] as? String, "\(listed.stdout)")
        // --partner narrows the listing, remotely as locally; an unknown partner is 66 both ways.
        let mine = try s.remote(["inbox", "list", "--partner", GatewayUnderTest.sftpPartner], as: ines)
        let mineHere = try s.local(["inbox", "list", "--partner", GatewayUnderTest.sftpPartner])
        #expect(mine.stdout.contains(id))
        #expect(mine.stdout == mineHere.stdout)
        let nobody = try s.remote(["inbox", "list", "--partner", "nobody"], as: ines)
        let nobodyHere = try s.local(["inbox", "list", "--partner", "nobody"])
        #expect(nobody.status == 66, "\(nobody.stderr)")
        #expect(nobodyHere.status == 66)

        let there = try s.remote(["inbox", "export", id, "--out", "exported"], as: ines)
        try s.ok(there)
        let here = try s.local(["inbox", "export", id, "--out", s.dir.path + "/exported-here"])
        try s.ok(here)
        #expect(there.stdout == here.stdout.replacingOccurrences(of: s.dir.path + "/exported-here", with: "exported"))
        for name in ["assessment.pdf", "manifest.json"] {
            #expect(FileManager.default.contents(atPath: s.workstationDir + "/exported/" + name)
                    == FileManager.default.contents(atPath: s.dir.path + "/exported-here/" + name), "\(name)")
        }
        #expect(try s.sha256(s.workstationDir + "/exported/assessment.pdf") == (try s.sha256(doc)))
        // The document and the manifest, each recorded as the operator's export.
        #expect(try s.sql("SELECT count(*) FROM event WHERE action = 'inbound-exported' AND transport = 'operator-api'") == "2")
        // Into a folder that holds them already: refused before anything is downloaded, as locally.
        let again = try s.remote(["inbox", "export", id, "--out", "exported"], as: ines)
        #expect(again.status == 64)
        #expect(try s.sql("SELECT count(*) FROM event WHERE action = 'inbound-exported' AND transport = 'operator-api'") == "2")
    }

    @Test func anExportOfATamperedTrailFailsRemotelyAsLocally() throws {
        let s = try Setup()
        let auditor = try s.addOperator("ada", roles: "auditor")
        let onboarded = try s.sql("SELECT seq FROM event WHERE action = 'partner-onboarded'")
        let edit = try Shell.run(["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.executescript("DROP TRIGGER IF EXISTS event_no_update; DROP TRIGGER IF EXISTS event_no_delete;")
            c.execute("UPDATE event SET partner_id = 'someone-else' WHERE seq = " + sys.argv[2]); c.commit()
            """, s.database, onboarded])
        try s.ok(edit)
        let there = try s.remote(["audit", "export", "-o", "audit.jsonl"], as: auditor)
        let here = try s.local(["audit", "export", "-o", s.dir.path + "/audit.jsonl"])
        #expect(here.status == 1 && there.status == 1, "\(there.stderr)")
        #expect(there.stderr == here.stderr)
        #expect(there.stderr.hasPrefix("TAMPERED: Entry \(onboarded)"), "\(there.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.workstationDir + "/audit.jsonl"))
    }
}
