import ClaimGateTesting
import Foundation
import Testing

/// What `claimgate serve` writes to its log: the gateway's own events at info, one access line
/// per HTTPS request and SFTP file operation, as JSON Lines with `--log-format json`, and never a
/// metadata value, document content or key material. `/metrics` has the latency histogram.
@Suite(.serialized) struct ServeLogTests {
    @Test func jsonLogHasAccessLinesAndEventsAndNoSecrets() throws {
        let g = try GatewayUnderTest("claimgate-serve-log")
        try g.onboardStandardPartners(reference: "DSA-LOG")
        let secret = "756.9999.1111.22"
        let doc = try g.dir.write("report.pdf", "%PDF-1.4\nCONTENT-NEVER-LOGGED\n")
        let sent = try ClaimgateBinary.run(["send", "--home", g.home, "--partner", GatewayUnderTest.sftpPartner, "--claim", "CLM-LOG",
                                            "--purpose", "claim-assessment", "--ttl", "1d", "--meta", "claimant.national_id=\(secret)", doc])
        try g.ok(sent)
        let id = sent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try g.serve(extra: ["--log-format", "json"])

        try g.ok(try g.sftp("ls /outbox\nget /outbox/\(id).p7m got.p7m"))
        #expect(try g.curlStatus("/v1/bundles") == "200")
        // A partner change made from another process while serve runs.
        try g.ok(try ClaimgateBinary.run(["partner", "suspend", GatewayUnderTest.httpsPartner, "--reason", "INC-7", "--home", g.home]))
        _ = try server.waitFor("\"message\":\"partner changed\"[^\\n]*\"(suspended)\"", timeout: 10)
        _ = try server.waitFor("\"operation\":\"(download)\"", timeout: 10)

        let metrics = try g.metrics()
        #expect(metrics.contains("claimgate_request_duration_seconds_bucket{transport=\"sftp\",operation=\"download\",le=\"+Inf\"} 1"), "\(metrics)")
        #expect(metrics.contains("claimgate_request_duration_seconds_count{transport=\"https\""), "\(metrics)")
        _ = server.stop()

        let lines = server.text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("{") }
        var objects: [[String: Any]] = []
        for line in lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            #expect(o["time"] is String && o["level"] is String && o["message"] is String, "\(line)")
            objects.append(o)
        }
        let access = objects.filter { $0["message"] as? String == "access" }
        let download = try #require(access.first { $0["operation"] as? String == "download" }, "\(lines)")
        #expect(download["partner.id"] as? String == GatewayUnderTest.sftpPartner)
        #expect(download["bundle.id"] as? String == id)
        #expect(download["status"] as? String == "ok")
        #expect(Int(download["bytes"] as? String ?? "") ?? 0 > 0)
        #expect(download["duration_ms"] != nil)
        #expect(access.contains { $0["operation"] as? String == "list" && $0["transport"] as? String == "sftp" })
        #expect(access.contains { $0["transport"] as? String == "https" && $0["partner.id"] as? String == GatewayUnderTest.httpsPartner
            && $0["status"] as? String == "200" }, "\(access)")

        let log = server.text
        #expect(!log.contains(secret))
        #expect(!log.contains("CONTENT-NEVER-LOGGED"))
        #expect(!log.contains("PRIVATE KEY"))
    }

    @Test func textLogAtInfoByDefaultShowsTheGatewaysEvents() throws {
        let g = try GatewayUnderTest("claimgate-serve-log-text")
        try g.onboardStandardPartners(reference: "DSA-LOG")
        let (id, _) = try g.send(try g.dir.write("r.pdf", "%PDF-1.4\n"), to: GatewayUnderTest.sftpPartner, claim: "CLM-LOG2")
        try g.ok(try ClaimgateBinary.run(["bundle", "recall", id, "--reason", "INC-8", "--home", g.home]))
        let server = try g.serve(extra: ["--purge-interval", "1"])
        _ = try server.waitFor("(purged)", timeout: 15)
        _ = server.stop()
        #expect(server.text.contains("info"), "\(server.text)")
        #expect(!server.text.contains("{\"time\""))
    }
}
