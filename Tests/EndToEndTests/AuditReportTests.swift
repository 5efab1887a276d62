import ClaimGateTesting
import Foundation
import Testing

/// `claimgate audit report` and `audit impact` after a scripted month with two partners, driven
/// through the real binary, stock `curl` (HTTPS, client certificates) and OpenSSH `sftp`.
///
/// st-marys-hospital (HTTPS pull) gets bundle A (claim CLM-A, claim-assessment) and B (CLM-B,
/// medical-review, two documents); it lists, downloads A and receipts it, downloads B without a
/// receipt (and a 100-byte range of it), sends a wrong receipt for B, and asks for acme's bundle C.
/// acme-assessors (SFTP pull) gets C (CLM-A) and D (CLM-C, then expired); a seal for it with a
/// purpose its agreement lacks is refused; it downloads C, asks twice for the expired D, is
/// refused a login with another key, and tries the HTTPS API its agreement does not allow.
@Suite(.serialized) struct AuditReportTests {
    final class Scenario: @unchecked Sendable {
        let dir = TemporaryDirectory("claimgate-reports")
        var home: String { dir.path + "/home" }
        var pki: String { dir.path + "/pki" }
        var a = "", b = "", c = "", d = ""
        var month = ""
        /// Document name → (SHA-256, size).
        var documents: [String: (sha256: String, size: Int)] = [:]
        /// Bundle id → size of the sealed file.
        var sizes: [String: Int] = [:]
        var server: ServerProcess!

        init() throws {
            try ok(ClaimgateBinary.run(["dev-pki", "--out", pki]))
            try ok(ClaimgateBinary.run(["init", "--home", home]))
            let trust = try dir.write("gateway.pem", try ClaimgateBinary.run(["identity", "--pem", "--home", home]).stdout)
            for (id, pull, purposes) in [("st-marys-hospital", "https", "claim-assessment, medical-review"),
                                         ("acme-assessors", "sftp", "claim-assessment")] {
                let yaml = """
                id: \(id)
                name: \(id == "acme-assessors" ? "Acme Assessors" : "St Mary's Hospital")
                role: institution
                agreement: {reference: DSA-AUDIT, purposes: [\(purposes)], document_types: [application/pdf], max_retention_days: 30, valid_until: 2099-12-31}
                certificates: {encryption: \(pki)/\(id)/encryption.pem, trust_anchor: \(pki)/\(id)/ca.pem}
                ssh: {authorized_keys_file: \(pki)/\(id)/ssh_ed25519.pub}
                delivery: {pull: [\(pull)]}
                """
                try ok(ClaimgateBinary.run(["partner", "add", try dir.write("\(id).yaml", yaml), "--home", home]))
            }
            for (name, filler) in [("report.pdf", "assessment "), ("xray.pdf", "radiology "), ("notes.pdf", "ward notes ")] {
                let path = try dir.write("docs/\(name)", "%PDF-1.4\n" + String(repeating: filler, count: 3_000))
                let sha = String(try Shell.run(["sha256sum", path]).stdout.prefix(64))
                documents[name] = (sha, try Data(contentsOf: URL(fileURLWithPath: path)).count)
            }
            func send(_ partner: String, _ claim: String, _ purpose: String, _ docs: [String]) throws -> Shell.Result {
                try ClaimgateBinary.run(["send", "--home", home, "--partner", partner, "--claim", claim, "--purpose", purpose,
                                         "--ttl", "2d"] + docs.map { dir.file("docs/\($0)") })
            }
            func bundle(_ r: Shell.Result) throws -> String {
                try ok(r)
                let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                let show = try ClaimgateBinary.run(["bundle", "show", id, "--home", home, "--json"])
                let json = try #require(try JSONSerialization.jsonObject(with: show.stdoutData) as? [String: Any])
                sizes[id] = (json["bundle"] as? [String: Any])?["size"] as? Int
                return id
            }
            a = try bundle(send("st-marys-hospital", "CLM-A", "claim-assessment", ["report.pdf"]))
            b = try bundle(send("st-marys-hospital", "CLM-B", "medical-review", ["xray.pdf", "notes.pdf"]))
            c = try bundle(send("acme-assessors", "CLM-A", "claim-assessment", ["report.pdf"]))
            d = try bundle(send("acme-assessors", "CLM-C", "claim-assessment", ["notes.pdf"]))
            let refused = try send("acme-assessors", "CLM-C", "medical-review", ["notes.pdf"])
            try #require(!refused.succeeded, "a purpose outside the agreement is refused")
            // D expires as if its time had passed (the bundle table only; the log is untouched).
            try ok(Shell.run(["python3", "-c", """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE bundle SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", (sys.argv[2],)); c.commit()
                """, home + "/claimgate.sqlite", d]))

            server = try ServerProcess([ClaimgateBinary.path, "serve", "--home", home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0",
                                        "--admin", "127.0.0.1:0"], logPath: dir.path + "/serve.log")
            let https = try server.waitFor("https: listening on 127\\.0\\.0\\.1:([0-9]+)")
            let sftpPort = try server.waitFor("sftp: listening on 127\\.0\\.0\\.1:([0-9]+)")

            // st-marys-hospital over HTTPS.
            func curl(_ args: [String], as partner: String = "st-marys-hospital") throws -> Shell.Result {
                try Shell.run(["curl", "-sS", "--cacert", trust, "--cert", "\(pki)/\(partner)/tls-client.pem",
                               "--key", "\(pki)/\(partner)/tls-client.key"] + args)
            }
            func url(_ path: String) -> String { "https://127.0.0.1:\(https)/v1/bundles\(path)" }
            try ok(curl([url("")]))
            try ok(curl(["-o", dir.file("a.p7m"), url("/\(a)")]))
            let shaA = String(try Shell.run(["sha256sum", dir.file("a.p7m")]).stdout.prefix(64))
            #expect(try curl(["-X", "POST", "-d", "{\"sha256\":\"\(shaA)\"}", url("/\(a)/receipt")]).stdout.contains("acknowledged"))
            try ok(curl(["-o", dir.file("b.p7m"), url("/\(b)")]))
            #expect(try curl(["-H", "Range: bytes=0-99", "-o", "/dev/null", "-w", "%{http_code}", url("/\(b)")]).stdout == "206")
            let zeros = String(repeating: "0", count: 64)
            #expect(try curl(["-X", "POST", "-d", "{\"sha256\":\"\(zeros)\"}", "-o", "/dev/null", "-w", "%{http_code}", url("/\(b)/receipt")]).stdout == "422")
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", url("/\(c)")]).stdout == "404")
            // acme-assessors may not pull over HTTPS: refused with that reason, attributed to acme.
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", url("")], as: "acme-assessors").stdout == "403")

            // acme-assessors over SFTP.
            let hostKey = try String(contentsOfFile: home + "/identity/ssh_host_ed25519.pub", encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            let known = try dir.write("known_hosts", "[127.0.0.1]:\(sftpPort) \(hostKey)\n")
            func sftp(_ batch: String, key: String = "acme-assessors") throws -> Shell.Result {
                let file = try dir.write("batch-\(UUID().uuidString.prefix(8))", batch + "\n")
                return try Shell.run(["sftp", "-b", file, "-P", sftpPort, "-i", "\(pki)/\(key)/ssh_ed25519",
                                      "-o", "UserKnownHostsFile=\(known)", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                                      "-o", "IdentitiesOnly=yes", "acme-assessors@127.0.0.1"], directory: dir.path)
            }
            try ok(sftp("get /outbox/\(c).p7m c.p7m"))
            for _ in 0..<2 { #expect(try !sftp("get /outbox/\(d).p7m d.p7m").succeeded) }
            #expect(try !sftp("get /outbox/nothing.p7m n.p7m").succeeded)
            #expect(try !sftp("ls /outbox", key: "st-marys-hospital").succeeded)

            // Downloads are recorded when the response or the handle ends: wait for all four, and
            // for the refused login (recorded when the connection closes).
            try waitFor("SELECT count(*) FROM event WHERE action = 'download' AND outcome IN ('success', 'partial')", 4)
            try waitFor("SELECT count(*) FROM event WHERE action = 'login-refused'", 2)
            month = String(ISO8601DateFormatter().string(from: Date()).prefix(7))
        }

        func ok(_ r: Shell.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try #require(r.succeeded, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        }

        private func waitFor(_ sql: String, _ count: Int) throws {
            for _ in 0..<100 {
                let r = try Shell.run(["python3", "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
                                       home + "/claimgate.sqlite", sql])
                if Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == count { return }
                usleep(50_000)
            }
            Issue.record("timed out waiting for \(count) rows of: \(sql)")
        }

        func run(_ args: [String]) throws -> Shell.Result {
            try ClaimgateBinary.run(["audit"] + args + ["--home", home])
        }

        func json(_ args: [String]) throws -> [String: Any] {
            let r = try run(args)
            try ok(r)
            return try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any], "\(r.stdout)")
        }
    }

    static let shared = Result { try Scenario() }
    func scenario() throws -> Scenario { try Self.shared.get() }

    // MARK: report

    @Test func theAccessReviewCountsSharesDownloadsReceiptsAndRefusalsPerPartner() throws {
        let s = try scenario()
        let report = try s.json(["report", "--month", s.month, "--format", "json"])
        #expect(report["month"] as? String == s.month)
        #expect(report["period_start"] as? String == "\(s.month)-01T00:00:00.000Z")
        let partners = try #require(report["partners"] as? [[String: Any]])
        #expect(partners.map { $0["partner"] as? String } == ["acme-assessors", "st-marys-hospital"])
        let acme = partners[0], stm = partners[1]
        #expect(acme["name"] as? String == "Acme Assessors")
        #expect(acme["pull"] as? [String] == ["sftp"])

        let sizeA = s.sizes[s.a]!, sizeB = s.sizes[s.b]!, sizeC = s.sizes[s.c]!
        #expect(Self.counts(stm["by_purpose"]) == [
            ["purpose": "claim-assessment", "bundles_sealed": 1, "claims_sealed": 1, "documents_sealed": 1, "delivered": 0,
             "delivery_failures": 0, "downloads_complete": 1, "downloads_partial": 0, "download_bytes": sizeA,
             "bundles_downloaded": 1, "receipts": 1, "receipts_refused": 0],
            ["purpose": "medical-review", "bundles_sealed": 1, "claims_sealed": 1, "documents_sealed": 2, "delivered": 0,
             "delivery_failures": 0, "downloads_complete": 1, "downloads_partial": 1, "download_bytes": sizeB + 100,
             "bundles_downloaded": 1, "receipts": 0, "receipts_refused": 1],
        ])
        #expect(Self.counts([stm["totals"] as Any]) == [
            ["bundles_sealed": 2, "documents_sealed": 3, "delivered": 0, "delivery_failures": 0, "downloads_complete": 2,
             "downloads_partial": 1, "download_bytes": sizeA + sizeB + 100, "bundles_downloaded": 2, "receipts": 1, "receipts_refused": 1],
        ])
        // The refused seal (medical-review) adds no row: nothing was shared for that purpose.
        #expect(Self.counts(acme["by_purpose"]) == [
            ["purpose": "claim-assessment", "bundles_sealed": 2, "claims_sealed": 2, "documents_sealed": 2, "delivered": 0,
             "delivery_failures": 0, "downloads_complete": 1, "downloads_partial": 0, "download_bytes": sizeC,
             "bundles_downloaded": 1, "receipts": 0, "receipts_refused": 0],
        ])
        #expect(stm["sessions"] as? [String: Int] == ["logins": 0, "listings": 1, "uploads": 0, "inbound_accepted": 0, "inbound_quarantined": 0])
        #expect((acme["sessions"] as? [String: Int])?["logins"] == 4, "four SFTP sessions logged in")

        #expect(Self.refusals(stm) == ["access-refused/bundle-unavailable/partner": 1, "receipt/digest-mismatch/partner": 1])
        let acmeRefusals = Self.refusals(acme)
        let expiredAttempts = try #require(acmeRefusals["access-refused/bundle-unavailable/partner"])
        #expect(expiredAttempts >= 3, "each refused get is recorded (OpenSSH may stat before it opens)")
        #expect(acmeRefusals == ["access-refused/bundle-unavailable/partner": expiredAttempts,
                                 "login-refused/unknown-key/system as acme-assessors": 1,
                                 "login-refused/transport-not-allowed/partner": 1,
                                 "seal-refused/purpose-not-allowed/local": 1])
        // The HTTPS refusal of acme's certificate (its agreement lists only sftp) is acme's own,
        // with its real reason; nothing is left unattributed.
        #expect((report["unattributed_refusals"] as? [[String: Any]])?.map(Self.refusalKey) == [])
    }

    @Test func theAccessReviewFlagsAttemptsAndDownloadsNeverReceipted() throws {
        let s = try scenario()
        let report = try s.json(["report", "--month", s.month, "--format", "json"])
        let partners = try #require(report["partners"] as? [[String: Any]])
        let acme = partners[0]["flags"] as? [[String: Any]] ?? [], stm = partners[1]["flags"] as? [[String: Any]] ?? []

        // st-marys: 2 refusals of its own requests (below 3), one foreign attempt, B never receipted.
        #expect(stm.map { $0["code"] as? String } == ["foreign-bundle-attempt", "download-not-receipted"])
        #expect(stm[0]["bundle_id"] as? String == s.c)
        #expect(stm[0]["bundle_partner"] as? String == "acme-assessors")
        #expect(stm[0]["claim_id"] as? String == "CLM-A")
        #expect(stm[0]["count"] as? Int == 1)
        #expect(stm[0]["transports"] as? [String] == ["https"])
        #expect(stm[0]["reference"] as? String == s.c)
        #expect(stm[1]["bundle_id"] as? String == s.b)
        #expect(stm[1]["claim_id"] as? String == "CLM-B")
        #expect(stm[1]["purpose"] as? String == "medical-review")
        #expect(stm[1]["count"] as? Int == 1)

        // acme: the expired bundle asked for twice, a name that is no bundle and the two refused
        // logins (SFTP: unknown key; HTTPS: transport not allowed) reach the threshold; C was
        // downloaded over SFTP, which has no receipt.
        #expect(acme.map { $0["code"] as? String } == ["repeated-refusals", "expired-bundle-attempt", "unknown-bundle-attempt", "download-not-receipted"])
        let attempts = try #require(acme[1]["count"] as? Int)
        let unknown = try #require(acme[2]["count"] as? Int)
        #expect(attempts >= 2 && unknown >= 1)
        #expect(acme[0]["count"] as? Int == attempts + unknown + 2, "the admin's refused seal is not the partner's")
        #expect(acme[0]["reasons"] as? [String: Int] == ["access-refused/bundle-unavailable": attempts + unknown, "login-refused/unknown-key": 1,
                                                          "login-refused/transport-not-allowed": 1])
        #expect(acme[1]["bundle_id"] as? String == s.d)
        #expect(acme[1]["reference"] as? String == "\(s.d).p7m")
        #expect(acme[1]["claim_id"] as? String == "CLM-C")
        #expect(acme[1]["bundle_expires"] as? String == "2020-01-01T00:00:00.000Z")
        #expect(acme[1]["transports"] as? [String] == ["sftp"])
        #expect(acme[2]["reference"] as? String == "nothing.p7m")
        #expect(acme[2]["bundle_id"] == nil)
        #expect(acme[3]["bundle_id"] as? String == s.c)
        #expect(acme[3]["transports"] as? [String] == ["sftp"])
        #expect((acme[3]["message"] as? String)?.contains("over SFTP: /inbox/<id>.receipt") == true, "an SFTP partner can receipt too")

        // --partner narrows to one partner, with the same flags.
        let one = try s.json(["report", "--month", s.month, "--partner", "st-marys-hospital", "--format", "json"])
        let only = try #require(one["partners"] as? [[String: Any]])
        #expect(only.map { $0["partner"] as? String } == ["st-marys-hospital"])
        #expect((only.first?["flags"] as? [[String: Any]])?.map { $0["code"] as? String } == ["foreign-bundle-attempt", "download-not-receipted"])

        // Another month holds nothing for them.
        let empty = try s.json(["report", "--month", "2001-01", "--format", "json"])
        #expect((empty["partners"] as? [Any])?.isEmpty == true, "partners onboarded later are not reviewed for 2001-01")
        #expect(empty["complete"] as? Bool == true)
    }

    @Test func theAccessReviewReadsAsMarkdownAndCSV() throws {
        let s = try scenario()
        let md = try s.run(["report", "--month", s.month])
        try s.ok(md)
        #expect(md.stdout.hasPrefix("# Access review \(s.month)\n"))
        #expect(md.stdout.contains("\n## acme-assessors — Acme Assessors\n"))
        #expect(md.stdout.contains("\n## st-marys-hospital — St Mary's Hospital\n"))
        #expect(md.stdout.contains("- **download-not-receipted**: Bundle \(s.b) (claim CLM-B, medical-review) was downloaded completely once over https"))
        #expect(md.stdout.contains("- **foreign-bundle-attempt**: st-marys-hospital asked once over https for bundle \(s.c), sealed for acme-assessors (claim CLM-A)."))
        #expect(md.stdout.contains("| medical-review | 1 | 1 | 2 | 0 | 0 | 1 | 1 | \(s.sizes[s.b]! + 100) | 1 | 0 | 1 |"))
        #expect(!md.stdout.contains("\n## Refusals before a partner was identified\n"), "every refusal here names its partner")

        let csv = try s.run(["report", "--month", s.month, "--format", "csv"])
        try s.ok(csv)
        let lines = csv.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "partner,metric,key,value,detail")
        #expect(lines.contains("st-marys-hospital,downloads-partial,medical-review,1,"))
        #expect(lines.contains("st-marys-hospital,receipts,*,1,"))
        #expect(lines.contains("st-marys-hospital,refusals,receipt/digest-mismatch,1,partner"))
        #expect(lines.contains { $0.hasPrefix("st-marys-hospital,flag:foreign-bundle-attempt,\(s.c),1,") })
        #expect(lines.contains("acme-assessors,refusals,login-refused/unknown-key,1,system as user acme-assessors"))
        #expect(lines.contains("acme-assessors,refusals,login-refused/transport-not-allowed,1,partner"))
    }

    // MARK: impact

    @Test func theImpactOfAPartnerListsItsClaimsDocumentsPurposesAndTransports() throws {
        let s = try scenario()
        let impact = try s.json(["impact", "--partner", "st-marys-hospital"])
        #expect((impact["query"] as? [String: String]) == ["partner": "st-marys-hospital"])
        let bundles = try #require(impact["bundles"] as? [[String: Any]])
        #expect(bundles.map(Self.bundleLine) == [
            "\(s.a) st-marys-hospital CLM-A claim-assessment",
            "\(s.b) st-marys-hospital CLM-B medical-review",
        ])
        #expect(bundles.map(Self.documents) == [
            [s.doc("report.pdf")],
            [s.doc("xray.pdf"), s.doc("notes.pdf")],
        ])
        #expect(bundles.map(Self.exposures) == [
            ["sealed cli \(s.sizes[s.a]!)", "downloaded https \(s.sizes[s.a]!)"],
            ["sealed cli \(s.sizes[s.b]!)", "downloaded https \(s.sizes[s.b]!)", "downloaded-partially https 100"],
        ])
        let summary = try #require(impact["summary"] as? [String: Any])
        #expect(summary["partners"] as? [String] == ["st-marys-hospital"])
        #expect(summary["claims"] as? [String] == ["CLM-A", "CLM-B"])
        #expect(summary["bundles"] as? Int == 2)
        #expect(summary["documents"] as? Int == 3)
        #expect(summary["exposures"] as? Int == 5)
        #expect(summary["downloads"] as? Int == 3)

        // acme: C downloaded over SFTP, D only sealed for it (and expired).
        let acme = try #require(try s.json(["impact", "--partner", "acme-assessors"])["bundles"] as? [[String: Any]])
        #expect(acme.map(Self.bundleLine) == ["\(s.c) acme-assessors CLM-A claim-assessment", "\(s.d) acme-assessors CLM-C claim-assessment"])
        #expect(acme.map(Self.exposures) == [["sealed cli \(s.sizes[s.c]!)", "downloaded sftp \(s.sizes[s.c]!)"], ["sealed cli \(s.sizes[s.d]!)"]])
        #expect(acme.map(Self.documents) == [[s.doc("report.pdf")], [s.doc("notes.pdf")]])

        // Nothing since tomorrow.
        let later = try s.json(["impact", "--partner", "acme-assessors", "--since", "2099-01-01"])
        #expect((later["bundles"] as? [Any])?.isEmpty == true)
        #expect((later["summary"] as? [String: Any])?["bundles"] as? Int == 0)
    }

    @Test func theImpactOfAClaimListsEveryPartnerThatGotItsDocuments() throws {
        let s = try scenario()
        let impact = try s.json(["impact", "--claim", "CLM-A"])
        let bundles = try #require(impact["bundles"] as? [[String: Any]])
        #expect(bundles.map(Self.bundleLine) == ["\(s.a) st-marys-hospital CLM-A claim-assessment", "\(s.c) acme-assessors CLM-A claim-assessment"])
        #expect(bundles.map(Self.exposures) == [
            ["sealed cli \(s.sizes[s.a]!)", "downloaded https \(s.sizes[s.a]!)"],
            ["sealed cli \(s.sizes[s.c]!)", "downloaded sftp \(s.sizes[s.c]!)"],
        ])
        #expect((impact["summary"] as? [String: Any])?["partners"] as? [String] == ["acme-assessors", "st-marys-hospital"])
        #expect((impact["summary"] as? [String: Any])?["documents"] as? Int == 1, "the same report went to both")

        let both = try #require(try s.json(["impact", "--claim", "CLM-A", "--partner", "acme-assessors"])["bundles"] as? [[String: Any]])
        #expect(both.map(Self.bundleLine) == ["\(s.c) acme-assessors CLM-A claim-assessment"])

        // CSV: one row per exposure and document.
        let csv = try s.run(["impact", "--partner", "st-marys-hospital", "--format", "csv"])
        try s.ok(csv)
        let rows = csv.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.first == ["time", "sequence", "kind", "partner", "claim_id", "bundle_id", "purpose", "transport", "client_address",
                               "bytes", "document_name", "document_sha256", "media_type", "document_size"])
        #expect(rows.dropFirst().map { [$0[2], $0[4], $0[6], $0[7], $0[10], $0[11]].joined(separator: " ") } == [
            "sealed CLM-A claim-assessment cli report.pdf \(s.doc("report.pdf").sha256)",
            "downloaded CLM-A claim-assessment https report.pdf \(s.doc("report.pdf").sha256)",
            "sealed CLM-B medical-review cli xray.pdf \(s.doc("xray.pdf").sha256)",
            "sealed CLM-B medical-review cli notes.pdf \(s.doc("notes.pdf").sha256)",
            "downloaded CLM-B medical-review https xray.pdf \(s.doc("xray.pdf").sha256)",
            "downloaded CLM-B medical-review https notes.pdf \(s.doc("notes.pdf").sha256)",
            "downloaded-partially CLM-B medical-review https xray.pdf \(s.doc("xray.pdf").sha256)",
            "downloaded-partially CLM-B medical-review https notes.pdf \(s.doc("notes.pdf").sha256)",
        ])
    }

    @Test(arguments: [
        (["report", "--month", "2026-13"], "is not a month"),
        (["report", "--month", "2026-11", "--format", "pdf"], "use md, json or csv"),
        (["report", "--month", "2026-11", "--partner", "nobody"], "No partner 'nobody'"),
        (["impact"], "Give --partner ID or --claim ID"),
        (["impact", "--claim", "CLM-A", "--since", "yesterday"], "is not a date"),
        (["impact", "--partner", "nobody"], "No partner 'nobody'"),
    ])
    func badArgumentsSayWhatToDo(_ args: [String], _ message: String) throws {
        let s = try scenario()
        let r = try s.run(args)
        #expect(!r.succeeded)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    // MARK: Helpers

    /// Count objects with only the fields that are numbers or the purpose.
    static func counts(_ value: Any?) -> [[String: AnyHashable]] {
        ((value as? [[String: Any]]) ?? []).map { row in
            row.compactMapValues { v -> AnyHashable? in (v as? Int).map(AnyHashable.init) ?? (v as? String).map(AnyHashable.init) }
        }
    }

    static func refusalKey(_ r: [String: Any]) -> String {
        "\(r["action"] as? String ?? "")/\(r["reason"] as? String ?? "")/\(r["actor"] as? String ?? "")"
            + ((r["claimed_user"] as? String).map { " as \($0)" } ?? "")
    }

    static func refusals(_ partner: [String: Any]) -> [String: Int] {
        var out: [String: Int] = [:]
        for r in partner["refusals"] as? [[String: Any]] ?? [] { out[refusalKey(r)] = r["count"] as? Int }
        return out
    }

    static func bundleLine(_ b: [String: Any]) -> String {
        [b["bundle_id"], b["partner"], b["claim_id"], b["purpose"]].map { $0 as? String ?? "nil" }.joined(separator: " ")
    }

    static func documents(_ b: [String: Any]) -> [Document] {
        (b["documents"] as? [[String: Any]] ?? []).map {
            Document(name: $0["name"] as? String ?? "", sha256: $0["sha256"] as? String ?? "", size: $0["size"] as? Int ?? -1,
                     mediaType: $0["media_type"] as? String ?? "")
        }
    }

    static func exposures(_ b: [String: Any]) -> [String] {
        (b["exposures"] as? [[String: Any]] ?? []).map { e in
            [e["kind"] as? String, e["transport"] as? String, (e["bytes"] as? Int).map(String.init)]
                .compactMap { $0 }.joined(separator: " ")
        }
    }

    struct Document: Equatable, CustomStringConvertible {
        let name: String, sha256: String, size: Int, mediaType: String
        var description: String { "\(name) \(sha256.prefix(12)) \(size) \(mediaType)" }
    }
}

extension AuditReportTests.Scenario {
    func doc(_ name: String) -> AuditReportTests.Document {
        AuditReportTests.Document(name: name, sha256: documents[name]!.sha256, size: documents[name]!.size, mediaType: "application/pdf")
    }
}
