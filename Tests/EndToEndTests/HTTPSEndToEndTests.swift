import ClaimGateTesting
import Foundation
import Testing

/// `claimgate serve --https` against stock `curl` with client certificates and the `openssl` command.
@Suite(.serialized) struct HTTPSEndToEndTests {
    final class Gateway: @unchecked Sendable {
        let dir = TemporaryDirectory("claimgate-https")
        var home: String { dir.path + "/home" }
        var pki: String { dir.path + "/pki" }
        var trust: String { dir.path + "/gateway.pem" }
        var stmBundle = "", acmeBundle = ""
        var server: ServerProcess!
        var port = ""
        var adminPort = ""

        init() throws {
            try ok(ClaimgateBinary.run(["dev-pki", "--out", pki]))
            try ok(ClaimgateBinary.run(["init", "--home", home]))
            try dir.write("gateway.pem", try ClaimgateBinary.run(["identity", "--pem", "--home", home]).stdout)
            for (id, pull) in [("st-marys-hospital", "https"), ("acme-assessors", "sftp")] {
                let yaml = """
                id: \(id)
                name: \(id)
                role: institution
                agreement: {reference: DSA-HTTPS, purposes: [claim-assessment], document_types: [application/pdf], max_retention_days: 30, valid_until: 2099-12-31}
                certificates: {encryption: \(pki)/\(id)/encryption.pem, trust_anchor: \(pki)/\(id)/ca.pem}
                ssh: {authorized_keys_file: \(pki)/\(id)/ssh_ed25519.pub}
                delivery: {pull: [\(pull)]}
                """
                try ok(ClaimgateBinary.run(["partner", "add", try dir.write("\(id).yaml", yaml), "--home", home]))
            }
            let doc = try dir.write("report.pdf", "%PDF-1.4\n" + String(repeating: "hospital record ", count: 20_000))
            func send(_ p: String) throws -> String {
                let r = try ClaimgateBinary.run(["send", "--home", home, "--partner", p, "--claim", "CLM-H", "--purpose",
                                                 "claim-assessment", "--ttl", "2d", doc])
                try ok(r)
                return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            stmBundle = try send("st-marys-hospital")
            acmeBundle = try send("acme-assessors")
            server = try ServerProcess([ClaimgateBinary.path, "serve", "--home", home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
                                       logPath: dir.path + "/serve.log")
            port = try server.waitFor("https: listening on 127\\.0\\.0\\.1:([0-9]+)")
            adminPort = try server.waitFor("admin: listening on http://127\\.0\\.0\\.1:([0-9]+)")
        }

        func ok(_ r: Shell.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try #require(r.succeeded, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        }

        /// Stock curl as `partner` (its TLS client certificate), trusting the gateway's certificates.
        func curl(_ args: [String], as partner: String? = "st-marys-hospital") throws -> Shell.Result {
            var cmd = ["curl", "-sS", "--cacert", trust]
            if let partner { cmd += ["--cert", "\(pki)/\(partner)/tls-client.pem", "--key", "\(pki)/\(partner)/tls-client.key"] }
            return try Shell.run(cmd + args)
        }

        func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }
    }

    static let shared = Result { try Gateway() }
    func gateway() throws -> Gateway { try Self.shared.get() }

    @Test func listDownloadRangeAndReceiptWithStockCurl() throws {
        let g = try gateway()
        let work = TemporaryDirectory()
        let list = try g.curl([g.url("/v1/bundles")])
        try g.ok(list)
        let items = try #require(try JSONSerialization.jsonObject(with: list.stdoutData) as? [[String: Any]])
        #expect(items.map { $0["id"] as? String } == [g.stmBundle], "only the caller's bundles")
        let sha = try #require(items.first?["sha256"] as? String)

        try g.ok(try g.curl(["-o", work.file("b.p7m"), "-D", work.file("headers"), g.url("/v1/bundles/\(g.stmBundle)")]))
        let headers = try String(contentsOfFile: work.file("headers"), encoding: .utf8).lowercased()
        #expect(headers.contains("etag: \"\(sha)\""))
        let local = try Shell.run(["sha256sum", work.file("b.p7m")]).stdout.prefix(64)
        #expect(String(local) == sha)
        // The downloaded bundle opens with the stock pipeline.
        try FileManager.default.createDirectory(atPath: work.file("x"), withIntermediateDirectories: true)
        try g.ok(try Shell.bash("""
            openssl cms -decrypt -binary -inform DER -in '\(work.file("b.p7m"))' -recip '\(g.pki)/st-marys-hospital/encryption.pem' \
              -inkey '\(g.pki)/st-marys-hospital/encryption.key' | openssl cms -verify -binary -inform DER -CAfile '\(g.trust)' -purpose any | tar -x
            """, directory: work.file("x")))
        #expect(FileManager.default.fileExists(atPath: work.file("x/documents/report.pdf")))

        let partial = try g.curl(["-H", "Range: bytes=100-", "-o", work.file("part"), "-w", "%{http_code}", g.url("/v1/bundles/\(g.stmBundle)")])
        #expect(partial.stdout == "206")
        let full = try Data(contentsOf: URL(fileURLWithPath: work.file("b.p7m")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: work.file("part"))) == full.dropFirst(100))
        #expect(try g.curl(["-H", "Range: bytes=999999999-", "-o", "/dev/null", "-w", "%{http_code}", g.url("/v1/bundles/\(g.stmBundle)")]).stdout == "416")

        let wrong = try g.curl(["-X", "POST", "-d", "{\"sha256\":\"\(String(repeating: "0", count: 64))\"}", "-w", " %{http_code}",
                                g.url("/v1/bundles/\(g.stmBundle)/receipt")])
        #expect(wrong.stdout.hasSuffix(" 422"))
        #expect(wrong.stdout.contains("\"status\":422"))
        let receipt = try g.curl(["-X", "POST", "-d", "{\"sha256\":\"\(sha)\"}", g.url("/v1/bundles/\(g.stmBundle)/receipt")])
        #expect(receipt.stdout.contains("\"state\":\"acknowledged\""))
        let show = try ClaimgateBinary.run(["bundle", "show", g.stmBundle, "--home", g.home])
        #expect(show.stdout.contains("state    acknowledged"))
        #expect(show.stdout.contains("download  success  by partner:st-marys-hospital via https"))
        #expect(show.stdout.contains("receipt  success"))
    }

    @Test func identityComesOnlyFromTheCertificate() throws {
        let g = try gateway()
        // Another partner's bundle is a 404, whatever headers say, and the attempt is recorded.
        let other = try g.curl(["-H", "X-Partner: acme-assessors", "-H", "X-Forwarded-Client-Cert: Subject=acme-assessors",
                                "-w", " %{http_code}", g.url("/v1/bundles/\(g.acmeBundle)?partner=acme-assessors")])
        #expect(other.stdout.hasSuffix(" 404"), "\(other.stdout)")
        #expect(other.stdout.contains("application/problem+json") || other.stdout.contains("\"status\":404"))
        let list = try g.curl(["-H", "X-Partner: acme-assessors", g.url("/v1/bundles")])
        #expect(!list.stdout.contains(g.acmeBundle))
        // No client certificate: the handshake fails.
        let anonymous = try g.curl([g.url("/v1/bundles")], as: nil)
        #expect(!anonymous.succeeded)
        // A certificate from an unknown CA: refused at the handshake.
        let stranger = TemporaryDirectory()
        try g.ok(try Shell.bash("""
            cd '\(stranger.path)' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem \
              -subj /CN=stranger -days 2 2>/dev/null
            """))
        let r = try Shell.run(["curl", "-sS", "--cacert", g.trust, "--cert", stranger.file("c.pem"), "--key", stranger.file("k.pem"), g.url("/v1/bundles")])
        #expect(!r.succeeded)
        // A partner whose agreement does not allow https pulls: 403.
        let acme = try g.curl(["-w", " %{http_code}", g.url("/v1/bundles")], as: "acme-assessors")
        #expect(acme.stdout.hasSuffix(" 403"))
    }
}

extension HTTPSEndToEndTests {
    /// Every route in docs/openapi.yaml exists on the server (it answers something other than
    /// the router's 404 for unknown routes).
    @Test func everyRouteInTheOpenAPISpecExists() throws {
        let g = try gateway()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let spec = try String(contentsOfFile: repo + "/docs/openapi.yaml", encoding: .utf8)
        var routes: [(String, String)] = []
        var path: String?
        for line in spec.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            else if let p = path, ["    get:", "    post:"].contains(String(line)) {
                routes.append((line.trimmingCharacters(in: .whitespaces).dropLast().uppercased(), p))
            } else if !line.hasPrefix("   "), !line.hasPrefix("  /") { path = nil }
        }
        #expect(routes.count == 6, "\(routes)")
        for (method, template) in routes {
            let concrete = template.replacingOccurrences(of: "{id}", with: g.stmBundle)
                .replacingOccurrences(of: "{name}", with: g.stmBundle + ".p7m")
            let r = try g.curl(["-X", method, "-d", method == "POST" ? "{}" : "", "-o", "/dev/null", "-w", "%{http_code}", g.url(concrete)])
            #expect(["200", "201", "206", "400", "422"].contains(r.stdout), "\(method) \(template) answered \(r.stdout)")
        }
        // And an unknown route is a 404.
        #expect(try g.curl(["-o", "/dev/null", "-w", "%{http_code}", g.url("/v1/nothing")]).stdout == "404")
    }
}

extension HTTPSEndToEndTests {
    @Test func aSealedReportPostedToTheInboxIsAcceptedAndATamperedOneQuarantined() throws {
        let g = try gateway()
        let work = TemporaryDirectory()
        let doc = try work.write("discharge.pdf", "%PDF-1.4\ndischarge summary\n")
        try g.ok(try Fixtures.sealReport(home: g.home, pki: g.pki, partner: "st-marys-hospital", claim: "CLM-H", document: doc,
                                         out: work.file("r.p7m"), scratch: work))
        var bad = try Data(contentsOf: URL(fileURLWithPath: work.file("r.p7m")))
        bad[bad.count / 2] ^= 0x10
        try bad.write(to: URL(fileURLWithPath: work.file("bad.p7m")))
        let accepted = try g.curl(["-X", "POST", "-H", "Content-Type: application/pkcs7-mime", "--data-binary", "@" + work.file("r.p7m"),
                                   "-w", " %{http_code}", g.url("/v1/inbox")])
        #expect(accepted.stdout.hasSuffix(" 201"), "\(accepted.stdout)")
        #expect(accepted.stdout.contains("\"state\":\"accepted\""))
        let refused = try g.curl(["-X", "POST", "--data-binary", "@" + work.file("bad.p7m"), "-w", " %{http_code}", g.url("/v1/inbox")])
        #expect(refused.stdout.hasSuffix(" 422"), "\(refused.stdout)")
        #expect(refused.stdout.contains("quarantined"))
        let list = try ClaimgateBinary.run(["inbox", "list", "--home", g.home, "--json"])
        let reports = try #require(try JSONSerialization.jsonObject(with: list.stdoutData) as? [[String: Any]])
        #expect(reports.contains { $0["state"] as? String == "accepted" && $0["transport"] as? String == "https" && $0["claim_id"] as? String == "CLM-H" })
        #expect(reports.contains { $0["state"] as? String == "quarantined" && $0["transport"] as? String == "https" })
    }
}

extension HTTPSEndToEndTests {
    @Test func theAdminListenerAnswersHealthReadinessAndMetricsLocally() throws {
        let g = try gateway()
        let health = try Shell.run(["curl", "-sS", "http://127.0.0.1:\(g.adminPort)/healthz"])
        #expect(health.stdout == "ok\n")
        // Ready: the running gateway's own database takes a write.
        let ready = try Shell.run(["curl", "-sS", "-w", "%{http_code}", "http://127.0.0.1:\(g.adminPort)/readyz"])
        #expect(ready.stdout.hasPrefix("ready\ndatabase: sqlite "), "\(ready.stdout)")
        #expect(ready.stdout.hasSuffix("200"))
        // One node holds every singleton job's lease.
        for job in ["deliveries", "checkpoints", "purge", "certificate-watch"] {
            #expect(ready.stdout.contains("lease \(job): this-node fence=1"), "\(ready.stdout)")
        }
        _ = try g.curl([g.url("/v1/bundles")])
        _ = try g.curl([g.url("/v1/bundles/\(g.acmeBundle)")])
        let metrics = try Shell.run(["curl", "-sS", "http://127.0.0.1:\(g.adminPort)/metrics"]).stdout
        #expect(metrics.contains("claimgate_events_total{action=\"listing\",outcome=\"success\",transport=\"https\"}"))
        #expect(metrics.contains("claimgate_refusals_total{reason=\"bundle-unavailable\"}"))
        #expect(metrics.contains("claimgate_deliveries{state=\"pending\"} 0"))
        #expect(metrics.contains("claimgate_certificate_days_to_expiry{subject=\"gateway\",certificate=\"tls\"}"))
        #expect(metrics.contains("claimgate_certificate_days_to_expiry{subject=\"st-marys-hospital\",certificate=\"encryption\"}"))
        // Not on a public address.
        let r = try ClaimgateBinary.run(["serve", "--home", g.home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "0.0.0.0:0"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("loopback"))
    }
}

extension HTTPSEndToEndTests {
    /// Against the real exchange and audit trail (counted through `/metrics`): a HEAD of a bundle
    /// and a conditional GET answered `304` record no download, a HEAD of another partner's bundle
    /// is `404` and recorded as refused like GET's, a HEAD of the list records a listing, and a
    /// multipart upload is `415` and recorded as a refused upload.
    @Test func headAndNotModifiedRecordNoDownloadWithTheRealExchange() throws {
        let g = try gateway()
        func count(_ series: String) throws -> Int {
            let metrics = try Shell.run(["curl", "-sS", "http://127.0.0.1:\(g.adminPort)/metrics"]).stdout
            let line = metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        let started = #"claimgate_events_total{action="download",outcome="started",transport="https"}"#
        let refused = #"claimgate_events_total{action="access-refused",outcome="refused",transport="https"}"#
        let listings = #"claimgate_events_total{action="listing",outcome="success",transport="https"}"#
        let uploadsRefused = #"claimgate_events_total{action="upload",outcome="refused",transport="https"}"#
        let before = try [started, refused, listings, uploadsRefused].map(count)

        let head = try g.curl(["-I", g.url("/v1/bundles/\(g.stmBundle)")])
        try g.ok(head)
        let fields = head.stdout.lowercased()
        #expect(fields.hasPrefix("http/1.1 200"), "\(head.stdout)")
        #expect(fields.contains("content-disposition: attachment; filename=\"\(g.stmBundle).p7m\""), "\(head.stdout)")
        let etag = try #require(head.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("etag:") }?.dropFirst(5)
            .trimmingCharacters(in: .whitespaces))
        let lastModified = try #require(head.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("last-modified:") }?
            .dropFirst(14).trimmingCharacters(in: .whitespaces))
        #expect(try g.curl(["-H", "If-None-Match: \(etag)", "-o", "/dev/null", "-w", "%{http_code}", g.url("/v1/bundles/\(g.stmBundle)")]).stdout == "304")
        #expect(try g.curl(["-H", "If-Modified-Since: \(lastModified)", "-o", "/dev/null", "-w", "%{http_code}",
                            g.url("/v1/bundles/\(g.stmBundle)")]).stdout == "304")
        #expect(try g.curl(["-I", "-o", "/dev/null", "-w", "%{http_code}", g.url("/v1/bundles/\(g.acmeBundle)")]).stdout == "404")
        #expect(try g.curl(["-I", "-o", "/dev/null", "-w", "%{http_code}", g.url("/v1/bundles")]).stdout == "200")
        let work = TemporaryDirectory()
        let form = try work.write("report.p7m", "not a form")
        #expect(try g.curl(["-F", "file=@" + form, "-o", "/dev/null", "-w", "%{http_code}", g.url("/v1/inbox")]).stdout == "415")

        let after = try [started, refused, listings, uploadsRefused].map(count)
        #expect(after[0] == before[0], "no download recorded")
        #expect(after[1] == before[1] + 1, "the HEAD of another partner's bundle is recorded as refused")
        #expect(after[2] == before[2] + 1, "the HEAD of the list is recorded as a listing")
        #expect(after[3] == before[3] + 1, "the multipart upload is recorded as refused")
    }
}
