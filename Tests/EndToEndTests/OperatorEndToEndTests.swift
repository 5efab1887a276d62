import ClaimGateTesting
import Foundation
import Testing

/// `claimgate operator …` and attribution through the built binary and stock tools: `openssl`
/// reads the fingerprint and verifies the certificate against the operator CA, `id` says who
/// the shell really is, Python's sqlite3 reads the audit trail.
@Suite(.serialized) struct OperatorEndToEndTests {
    final class Setup: GatewayUnderTest, @unchecked Sendable {
        init() throws {
            try super.init("claimgate-operators")
            try onboard(Fixtures.sftpPullAgreement(id: Self.sftpPartner, pki: pki, reference: "DSA-OPS-1"))
        }

        func claimgate(_ args: [String], environment: [String: String] = [:]) throws -> Shell.Result {
            try ClaimgateBinary.run(args + ["--home", home], environment: environment)
        }

        func json(_ r: Shell.Result) throws -> Any { try JSONSerialization.jsonObject(with: r.stdoutData) }
    }

    @Test func operatorAddWritesACertificateOpenSSLAgreesWithAndAPrivateKey() throws {
        let s = try Setup()
        let out = s.dir.path + "/handover"
        let add = try s.claimgate(["operator", "add", "claire", "--role", "claims-operator,auditor", "--partners", Setup.sftpPartner,
                                   "--grant", "inbox-export", "--days", "90", "--out", out])
        try s.ok(add)
        let pem = out + "/claire.pem", key = out + "/claire.key"
        var st = stat()
        #expect(stat(key, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(FileManager.default.fileExists(atPath: pem))

        // The fingerprint printed is the one openssl prints, to the byte.
        let openssl = try Shell.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pem])
        try s.ok(openssl)
        let printed = add.stdout.split(separator: "\n").last.map(String.init)
        #expect(printed == openssl.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(printed?.hasPrefix("sha256 Fingerprint=") == true)

        // The key is the certificate's, the certificate is for TLS clients, named after the operator.
        let certKey = try Shell.run(["openssl", "x509", "-noout", "-pubkey", "-in", pem])
        let keyKey = try Shell.run(["openssl", "pkey", "-pubout", "-in", key])
        #expect(certKey.stdout == keyKey.stdout && !certKey.stdout.isEmpty)
        let text = try Shell.run(["openssl", "x509", "-noout", "-text", "-in", pem]).stdout
        #expect(text.contains("TLS Web Client Authentication"))
        #expect(try Shell.run(["openssl", "x509", "-noout", "-subject", "-in", pem]).stdout.contains("CN = claire"))

        // openssl verifies it against the operator CA; the partner's CA and the gateway's
        // partner-facing trust do not accept it.
        let ca = try s.claimgate(["identity", "--operator-ca-pem"])
        try s.ok(ca)
        let operatorCA = try s.dir.write("operator-ca.pem", ca.stdout)
        let verify = try Shell.run(["openssl", "verify", "-CAfile", operatorCA, pem])
        #expect(verify.succeeded, "\(verify.stdout) \(verify.stderr)")
        let partnerCA = s.pki + "/" + Setup.sftpPartner + "/ca.pem"
        #expect(!(try Shell.run(["openssl", "verify", "-CAfile", partnerCA, pem])).succeeded)
        #expect(!(try Shell.run(["openssl", "verify", "-CAfile", s.trust, pem])).succeeded)
        let fingerprint = { (file: String) in try Shell.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", file]).stdout }
        #expect(try fingerprint(operatorCA) != fingerprint(partnerCA))
        #expect(try fingerprint(operatorCA) != fingerprint(s.trust))

        // list and show, as JSON, say what was asked for.
        let show = try s.json(s.claimgate(["operator", "show", "claire", "--json"])) as? [String: Any]
        #expect(show?["roles"] as? [String] == ["auditor", "claims-operator"])
        #expect(show?["grants"] as? [String] == ["inbox-export"])
        #expect(show?["partners"] as? [String] == [Setup.sftpPartner])
        #expect(show?["certificate_fingerprint"] as? String == printed)
        #expect(show?["state"] as? String == "active")
        let list = try s.json(s.claimgate(["operator", "list", "--json"])) as? [[String: Any]]
        #expect(list?.map { $0["name"] as? String } == ["claire"])

        // The same name twice is refused, and nothing is overwritten.
        let again = try s.claimgate(["operator", "add", "claire", "--role", "auditor", "--out", out])
        #expect(again.status == 73)
        #expect(try fingerprint(pem) == openssl.stdout)
    }

    @Test func operatorsAreManagedAtTheShellAndEveryChangeIsRecorded() throws {
        let s = try Setup()
        try s.ok(s.claimgate(["operator", "add", "pat", "--role", "partner-admin", "--out", s.dir.path + "/out"]))
        try s.ok(s.claimgate(["operator", "suspend", "pat"]))
        #expect(try s.claimgate(["operator", "suspend", "pat"]).status == 64)
        try s.ok(s.claimgate(["operator", "resume", "pat"]))
        try s.ok(s.claimgate(["operator", "grant", "pat", "auditor"]))
        try s.ok(s.claimgate(["operator", "revoke", "pat", "partner-admin"]))
        #expect(try s.claimgate(["operator", "grant", "pat", "root"]).status == 64)
        try s.ok(s.claimgate(["operator", "remove", "pat"]))
        #expect(try s.claimgate(["operator", "show", "nobody"]).status == 66)
        let show = try s.json(s.claimgate(["operator", "show", "pat", "--json"])) as? [String: Any]
        #expect(show?["state"] as? String == "removed")
        #expect(show?["roles"] as? [String] == ["auditor"])
        let actions = try s.sql("SELECT action FROM event WHERE action LIKE 'operator-%' ORDER BY seq").split(separator: "\n")
        #expect(actions == ["operator-added", "operator-suspended", "operator-resumed", "operator-granted", "operator-revoked", "operator-removed"])
        try s.ok(s.claimgate(["audit", "verify"]))
    }

    @Test func theShellIsRecordedByItsRealAccountWhateverUSERSays() throws {
        let s = try Setup()
        let r = try s.claimgate(["partner", "suspend", Setup.sftpPartner, "--reason", "spoof test"],
                                environment: ["USER": "mallory", "LOGNAME": "mallory"])
        try s.ok(r)
        let uid = try Shell.run(["id", "-u"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let name = try Shell.run(["id", "-un"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let actor = try s.sql("SELECT actor FROM event WHERE action = 'partner-suspended' ORDER BY seq DESC LIMIT 1")
        #expect(actor == "local:uid=\(uid)(\(name))")
        #expect(!actor.contains("mallory"))
        try s.ok(s.claimgate(["audit", "verify"]))
    }
}
