import ClaimGateTesting
import Foundation
import Testing

/// Issue 15's "done when": the clients partners run, with their default settings, against a real
/// `claimgate serve` (real store, real sealed bundles and reports), and the audit trail intact
/// afterwards. The SFTP partner uses rclone (download, receipt, a report, a refused delete) and
/// lftp (a report under a temporary name); the HTTPS partner rclone's http backend and curl.
@Suite(.serialized) struct ClientMatrixEndToEndTests {
    @Test func partnersClientsWithTheirDefaultsLeaveTheAuditTrailIntact() throws {
        let g = try GatewayUnderTest("claimgate-client-matrix")
        try g.onboardStandardPartners(reference: "DSA-MATRIX")
        let doc = try g.dir.write("claim.pdf", "%PDF-1.4\nclaim documents for CLM-MATRIX\n")
        let (sftpBundle, s1) = try g.send(doc, to: GatewayUnderTest.sftpPartner, claim: "CLM-MATRIX")
        try g.ok(s1)
        let (httpsBundle, s2) = try g.send(doc, to: GatewayUnderTest.httpsPartner, claim: "CLM-MATRIX")
        try g.ok(s2)
        let assessment = try g.dir.write("assessment.pdf", "%PDF-1.4\nloss assessment for CLM-MATRIX\n")
        for name in ["rclone-report.p7m", "lftp-report.p7m"] {
            try g.ok(try Fixtures.sealReport(home: g.home, pki: g.pki, partner: GatewayUnderTest.sftpPartner, claim: "CLM-MATRIX",
                                             document: assessment, out: g.dir.file(name), scratch: g.dir))
        }
        try g.serve()

        // rclone over SFTP, no configuration: shell detection and modification times as it does.
        let key = "\(g.pki)/\(GatewayUnderTest.sftpPartner)/ssh_ed25519"
        let remote = ":sftp,host=127.0.0.1,port=\(g.sftpPort),user=\(GatewayUnderTest.sftpPartner),key_file=\(key),known_hosts_file=\(g.dir.path)/known_hosts:"
        let rclone = ["env", "RCLONE_CONFIG=\(g.dir.file("rclone.conf"))", "timeout", "60", "rclone", "-q"]
        try g.ok(Shell.run(rclone + ["copy", remote + "/outbox", g.dir.file("sftp-got")]))
        let sftpDigest = try g.sha256(g.dir.file("sftp-got/\(sftpBundle).p7m"))
        #expect(sftpDigest == (try g.sha256("\(g.home)/outbox/\(GatewayUnderTest.sftpPartner)/\(sftpBundle).p7m")))
        try g.dir.write("\(sftpBundle).receipt", sftpDigest + "  \(sftpBundle).p7m\n")
        try g.ok(Shell.run(rclone + ["copyto", g.dir.file("\(sftpBundle).receipt"), remote + "/inbox/\(sftpBundle).receipt"]))
        try g.ok(Shell.run(rclone + ["copyto", g.dir.file("rclone-report.p7m"), remote + "/inbox/rclone-report.p7m"]))
        let delete = try Shell.run(rclone + ["deletefile", remote + "/outbox/\(sftpBundle).p7m"])
        #expect(delete.status != 0 && delete.stderr.lowercased().contains("permission denied"), "exit \(delete.status): \(delete.stderr)")

        // lftp with a temporary name, renamed when the upload is complete.
        let lftp = try Shell.run(["timeout", "60", "lftp", "-c", """
            set sftp:connect-program "ssh -a -x -i \(key) -o UserKnownHostsFile=\(g.dir.path)/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes"; \
            set xfer:use-temp-file yes; \
            open -u \(GatewayUnderTest.sftpPartner), sftp://127.0.0.1:\(g.sftpPort); \
            put \(g.dir.file("lftp-report.p7m")) -o /inbox/lftp-report.p7m
            """])
        try g.ok(lftp)

        // rclone's http backend over the outbox index, then curl's receipt.
        let partnerPKI = "\(g.pki)/\(GatewayUnderTest.httpsPartner)"
        try g.ok(Shell.run(rclone + ["--client-cert", "\(partnerPKI)/tls-client.pem", "--client-key", "\(partnerPKI)/tls-client.key",
                                     "--ca-cert", g.trust, "--http-url", g.url("/v1/outbox/"), "copy", ":http:", g.dir.file("https-got")]))
        let httpsDigest = try g.sha256(g.dir.file("https-got/\(httpsBundle).p7m"))
        try g.ok(g.curl(["--fail", "-H", "Content-Type: application/json", "-d", "{\"sha256\": \"\(httpsDigest)\"}",
                         g.url("/v1/bundles/\(httpsBundle)/receipt")]))

        #expect(try g.sql("SELECT state FROM bundle WHERE id = '\(sftpBundle)'") == "acknowledged")
        #expect(try g.sql("SELECT state FROM bundle WHERE id = '\(httpsBundle)'") == "acknowledged")
        let inbox = try ClaimgateBinary.run(["inbox", "list", "--home", g.home, "--json"])
        try g.ok(inbox)
        let reports = try #require(try JSONSerialization.jsonObject(with: inbox.stdoutData) as? [[String: Any]])
        #expect(Set(reports.map { "\($0["file_name"] ?? "") \($0["state"] ?? "")" })
                == ["rclone-report.p7m accepted", "lftp-report.p7m accepted"], "\(reports)")
        // Besides rclone's shell detection on each connection (`operation-refused: exec`), only the
        // delete (rclone tries it three times, each as a file and as a folder); lftp's removal of
        // the real name before its rename is "no such file", not a refusal.
        let refused = try g.sql("SELECT reason FROM event WHERE action = 'access-refused' AND reason != 'operation-refused: exec' ORDER BY seq")
        #expect(Set(refused.split(separator: "\n")) == ["operation-refused: remove /outbox/\(sftpBundle).p7m",
                                                         "operation-refused: rmdir /outbox/\(sftpBundle).p7m"], "\(refused)")
        _ = g.server?.stop()
        try g.ok(ClaimgateBinary.run(["audit", "verify", "--home", g.home]))
    }
}
