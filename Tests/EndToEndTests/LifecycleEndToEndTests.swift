import ClaimGateTesting
import Foundation
import Testing

/// Agreements in force over time through the real transports: receipts over SFTP, suspension on
/// a kept-alive HTTPS connection, recall and purge with `claimgate serve` running.
@Suite(.serialized) struct LifecycleEndToEndTests {
    final class Setup: GatewayUnderTest, @unchecked Sendable {
        init() throws {
            try super.init("claimgate-lifecycle")
            try onboardStandardPartners(reference: "DSA-LIFE")
            try serve()
        }

        /// Sends a small report to `partner`; the bundle id.
        func send(_ partner: String, claim: String = "CLM-L1") throws -> String {
            let doc = try dir.write("doc-\(UUID().uuidString.prefix(6)).pdf", "%PDF-1.4\n" + String(repeating: "record ", count: 2_000))
            let sent = try send(doc, to: partner, claim: claim)
            try ok(sent.result)
            return sent.id
        }

        func state(_ id: String) throws -> String {
            let show = try ClaimgateBinary.run(["bundle", "show", id, "--home", home])
            return show.stdout.split(separator: "\n").first { $0.hasPrefix("state") }.map { String($0.dropFirst(5)).trimmingCharacters(in: .whitespaces) } ?? ""
        }
    }

    @Test func aReceiptUploadedOverSFTPAcknowledgesTheBundleAndAWrongOneIsRefused() throws {
        let s = try Setup()
        let id = try s.send("acme-assessors")
        try s.ok(s.sftp("get /outbox/\(id).p7m got.p7m"))
        let digest = try s.sha256(s.dir.file("got.p7m"))
        try s.dir.write("wrong.receipt", String(repeating: "0", count: 64) + "  got.p7m\n")
        try s.ok(s.sftp("put wrong.receipt /inbox/\(id).receipt"))
        #expect(try s.state(id) == "downloaded")
        try s.dir.write("good.receipt", "\(digest)  got.p7m\n")
        // The receipt name can be used again: the wrong receipt was not kept.
        try s.ok(s.sftp("put good.receipt /inbox/\(id).receipt"))
        #expect(try s.state(id) == "acknowledged")
        // The audit entry keeps the digest the partner acknowledged.
        #expect(try s.sql("SELECT document_digests FROM event WHERE action = 'receipt' AND outcome = 'success'").contains(digest))
        let show = try ClaimgateBinary.run(["bundle", "show", id, "--home", s.home]).stdout
        #expect(show.contains("receipt  refused  by partner:acme-assessors via sftp"), "\(show)")
        #expect(show.contains("receipt  success  by partner:acme-assessors via sftp"), "\(show)")
        // A receipt for a bundle that is not the partner's changes nothing.
        let other = try s.send("st-marys-hospital")
        try s.dir.write("foreign.receipt", "\(digest)\n")
        try s.ok(s.sftp("put foreign.receipt /inbox/\(other).receipt"))
        #expect(try s.state(other) == "queued")
        // Recorded like a download of another partner's bundle, so the access review flags it.
        #expect(try s.sql("SELECT action || ' ' || reason_code || ' ' || subject FROM event WHERE partner_id = 'acme-assessors' AND outcome = 'refused'")
            .contains("access-refused bundle-unavailable \(other)"))
    }

    @Test func suspensionCutsOffAKeptAliveHTTPSConnectionWithinASecond() throws {
        let s = try Setup()
        let id = try s.send("st-marys-hospital")
        let script = #"""
            import http.client, ssl, subprocess, sys, time
            port, trust, cert, key, bundle, claimgate, home = sys.argv[1:8]
            ctx = ssl.create_default_context(cafile=trust)
            ctx.load_cert_chain(cert, key)
            conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
            def get(path):
                conn.request("GET", path)
                r = conn.getresponse(); r.read()
                return r.status
            print("before", get("/v1/bundles/" + bundle))
            sock = conn.sock
            subprocess.run([claimgate, "partner", "suspend", "st-marys-hospital", "--home", home], check=True, capture_output=True)
            time.sleep(1.2)
            print("suspended", get("/v1/bundles/" + bundle), "same-connection", conn.sock is sock)
            subprocess.run([claimgate, "partner", "resume", "st-marys-hospital", "--home", home], check=True, capture_output=True)
            time.sleep(1.2)
            print("resumed", get("/v1/bundles/" + bundle))
            """#
        let r = try Shell.run(["python3", try s.dir.write("keepalive.py", script), s.httpsPort, s.trust,
                               "\(s.pki)/st-marys-hospital/tls-client.pem", "\(s.pki)/st-marys-hospital/tls-client.key",
                               id, ClaimgateBinary.path, s.home])
        try s.ok(r)
        #expect(r.stdout.contains("before 200"), "\(r.stdout)")
        #expect(r.stdout.contains("suspended 403 same-connection True"), "\(r.stdout)")
        #expect(r.stdout.contains("resumed 200"), "\(r.stdout)")
    }

    @Test func recallHidesABundleAtOnceOnBothTransportsAndPurgeDestroysIt() throws {
        let s = try Setup()
        let stm = try s.send("st-marys-hospital")
        let acme = try s.send("acme-assessors")
        #expect(try s.curlStatus("/v1/bundles/\(stm)") == "200")
        for id in [stm, acme] {
            try s.ok(ClaimgateBinary.run(["bundle", "recall", id, "--reason", "wrong recipient", "--home", s.home]))
        }
        #expect(try s.curlStatus("/v1/bundles/\(stm)") == "404")
        let get = try s.sftp("get /outbox/\(acme).p7m x.p7m")
        #expect(!get.succeeded)
        let ls = try s.sftp("ls /outbox")
        #expect(!ls.stdout.contains(acme))

        let purge = try ClaimgateBinary.run(["purge", "--home", s.home])
        try s.ok(purge)
        #expect(purge.stdout.contains("Purged 2 bundle(s)"), "\(purge.stdout)")
        for (partner, id) in [("st-marys-hospital", stm), ("acme-assessors", acme)] {
            #expect(!FileManager.default.fileExists(atPath: "\(s.home)/outbox/\(partner)/\(id).p7m"))
            #expect(try s.state(id) == "purged")
            let show = try ClaimgateBinary.run(["bundle", "show", id, "--home", s.home]).stdout
            #expect(show.contains("recall  success"), "\(show)")
            #expect(show.contains("purge  success"), "\(show)")
        }
        #expect(try ClaimgateBinary.run(["audit", "verify", "--home", s.home]).succeeded)
    }

    @Test func aBundleStopsBeingListedAndServedOnBothTransportsWhenItExpires() throws {
        let s = try Setup()
        // Expires a few seconds from now (to the second, as --expires takes it).
        let expires = Date().addingTimeInterval(10)
        let stamp = ISO8601DateFormatter().string(from: expires)
        func sendExpiring(_ partner: String) throws -> String {
            let doc = try s.dir.write("soon-\(partner).pdf", "%PDF-1.4\nshort-lived")
            let sent = try s.send(doc, to: partner, claim: "CLM-EXP", lifetime: ["--expires", stamp])
            try s.ok(sent.result)
            return sent.id
        }
        let stm = try sendExpiring("st-marys-hospital")
        let acme = try sendExpiring("acme-assessors")
        // Just before: listed and served.
        #expect(try s.curlStatus("/v1/bundles/\(stm)") == "200")
        let before = try s.sftp("ls /outbox\nget /outbox/\(acme).p7m before.p7m")
        #expect(before.succeeded && before.stdout.contains(acme), "\(before.stdout) \(before.stderr)")
        while Date() < expires.addingTimeInterval(0.2) { usleep(100_000) }
        // After: neither listed nor served, and each attempt is recorded.
        #expect(try s.curlStatus("/v1/bundles/\(stm)") == "404")
        let list = try s.curl([s.url("/v1/bundles")])
        #expect(!list.stdout.contains(stm), "\(list.stdout)")
        let ls = try s.sftp("ls /outbox")
        #expect(!ls.stdout.contains(acme), "\(ls.stdout)")
        #expect(!(try s.sftp("get /outbox/\(acme).p7m after.p7m")).succeeded)
        #expect(!FileManager.default.fileExists(atPath: s.dir.file("after.p7m")))
        // The partner side refuses it too.
        let open = try ClaimgateBinary.run(["open", s.dir.file("before.p7m"), "--cert", "\(s.pki)/acme-assessors/encryption.pem",
                                            "--key", "\(s.pki)/acme-assessors/encryption.key", "--trust", s.trust, "--out", s.dir.file("opened")])
        #expect(!open.succeeded)
        #expect(open.stderr.contains("expired"), "\(open.stderr)")
        #expect(try s.state(stm) == "expired")
    }
}
