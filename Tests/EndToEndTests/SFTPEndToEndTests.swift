import ClaimGateTesting
import Foundation
import Testing

/// `claimgate serve` against the stock OpenSSH `sftp` and `ssh` clients.
@Suite(.serialized) struct SFTPEndToEndTests {
    final class Gateway: @unchecked Sendable {
        let dir = TemporaryDirectory("claimgate-sftp")
        var home: String { dir.path + "/home" }
        var pki: String { dir.path + "/pki" }
        var known: String { dir.path + "/known_hosts" }
        var acmeBundle = "", stmBundle = "", expiredBundle = ""
        var server: ServerProcess!
        var port = ""

        init() throws {
            try ok(ClaimgateBinary.run(["dev-pki", "--out", pki]))
            try ok(ClaimgateBinary.run(["init", "--home", home]))
            for id in ["acme-assessors", "st-marys-hospital"] {
                let yaml = Fixtures.sftpPullAgreement(id: id, pki: pki, reference: "DSA-SFTP")
                try ok(ClaimgateBinary.run(["partner", "add", try dir.write("\(id).yaml", yaml), "--home", home]))
            }
            let doc = try dir.write("report.pdf", "%PDF-1.4\n" + String(repeating: "claim report ", count: 40_000))
            func send(_ partner: String) throws -> String {
                let r = try ClaimgateBinary.run(["send", "--home", home, "--partner", partner, "--claim", "CLM-1",
                                                 "--purpose", "claim-assessment", "--ttl", "2d", doc])
                try ok(r)
                return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            acmeBundle = try send("acme-assessors")
            stmBundle = try send("st-marys-hospital")
            expiredBundle = try send("acme-assessors")
            // Expire one bundle as if its time had passed.
            try ok(Shell.run(["python3", "-c", """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE bundle SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", (sys.argv[2],)); c.commit()
                """, home + "/claimgate.sqlite", expiredBundle]))
            server = try ServerProcess([ClaimgateBinary.path, "serve", "--home", home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
                                       logPath: dir.path + "/serve.log")
            port = try server.waitFor("sftp: listening on 127\\.0\\.0\\.1:([0-9]+)")
            let hostKey = try String(contentsOfFile: home + "/identity/ssh_host_ed25519.pub", encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            try dir.write("known_hosts", "[127.0.0.1]:\(port) \(hostKey)\n")
        }

        func ok(_ r: Shell.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try #require(r.succeeded, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        }

        /// Runs stock `sftp -b` as `user` with `key`.
        func sftp(_ batch: String, user: String = "acme-assessors", key: String? = nil, in directory: String? = nil) throws -> Shell.Result {
            let file = try dir.write("batch-\(UUID().uuidString.prefix(8))", batch + "\n")
            return try Shell.run(["sftp", "-b", file, "-P", port, "-i", key ?? "\(pki)/\(user)/ssh_ed25519",
                                  "-o", "UserKnownHostsFile=\(known)", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                                  "-o", "IdentitiesOnly=yes", "\(user)@127.0.0.1"], directory: directory ?? dir.path)
        }

        func events() throws -> [String] {
            let r = try Shell.run(["python3", "-c", """
                import sqlite3, sys
                for row in sqlite3.connect(sys.argv[1]).execute("SELECT action, outcome, coalesce(partner_id,''), coalesce(bundle_id,''), coalesce(bytes,''), coalesce(reason,''), transport, coalesce(client_address,'') FROM event ORDER BY seq"):
                    print("|".join(str(x) for x in row))
                """, home + "/claimgate.sqlite"])
            return r.stdout.split(separator: "\n").map(String.init)
        }
    }

    static let shared = Result { try Gateway() }
    func gateway() throws -> Gateway { try Self.shared.get() }

    @Test func partnerListsOnlyItsAvailableBundlesAndDownloadsOne() throws {
        let g = try gateway()
        let listing = try g.sftp("ls /outbox")
        try g.ok(listing)
        #expect(listing.stdout.contains("\(g.acmeBundle).p7m"))
        #expect(!listing.stdout.contains(g.stmBundle), "another partner's bundle is invisible")
        #expect(!listing.stdout.contains(g.expiredBundle), "an expired bundle is not listed")

        let work = TemporaryDirectory()
        try g.ok(try g.sftp("get /outbox/\(g.acmeBundle).p7m bundle.p7m", in: work.path))
        let opened = try ClaimgateBinary.run(["open", work.file("bundle.p7m"), "--cert", "\(g.pki)/acme-assessors/encryption.pem",
                                              "--key", "\(g.pki)/acme-assessors/encryption.key", "--trust", "\(g.home)/identity/signing.pem",
                                              "--out", work.file("opened")])
        // The signing certificate alone does not chain: the gateway CA must be in --trust.
        #expect(!opened.succeeded)
        try work.write("gateway.pem", try ClaimgateBinary.run(["identity", "--pem", "--home", g.home]).stdout)
        try g.ok(try ClaimgateBinary.run(["open", work.file("bundle.p7m"), "--cert", "\(g.pki)/acme-assessors/encryption.pem",
                                          "--key", "\(g.pki)/acme-assessors/encryption.key", "--trust", work.file("gateway.pem"),
                                          "--out", work.file("opened")]))
        let size = try FileManager.default.attributesOfItem(atPath: work.file("bundle.p7m"))[.size] as? Int
        let download = try g.events().last { $0.hasPrefix("download|") && $0.contains(g.acmeBundle) }
        #expect(download?.hasPrefix("download|success|acme-assessors|\(g.acmeBundle)|\(size ?? -1)|") == true, "\(download ?? "none")")
        #expect(download?.contains("|sftp|127.0.0.1:") == true)
        let show = try ClaimgateBinary.run(["bundle", "show", g.acmeBundle, "--home", g.home, "--json"])
        #expect(show.stdout.contains("\"state\" : \"downloaded\""))
    }

    @Test func unavailableBundlesAreNotReadableByExactName() throws {
        let g = try gateway()
        let work = TemporaryDirectory()
        for id in [g.stmBundle, g.expiredBundle] {
            let r = try g.sftp("get /outbox/\(id).p7m x.p7m", in: work.path)
            #expect(!r.succeeded, "\(id) must not be served")
        }
        #expect(work.listing().isEmpty)
        #expect(try g.events().contains { $0.hasPrefix("access-refused|refused|acme-assessors||") && $0.contains("bundle-unavailable") })
    }

    @Test(arguments: [
        "get ../../etc/passwd", "get /etc/passwd", "get /outbox/../../etc/hostname", "get /outbox/../outbox/../../etc/hostname",
        "symlink /etc/passwd /inbox/link", "rename /outbox/BUNDLE.p7m /inbox/moved.p7m", "rm /outbox/BUNDLE.p7m",
        "mkdir /outbox/sub", "mkdir /new", "put report.pdf /outbox/report.pdf", "put report.pdf /report.pdf",
        "ln /outbox/BUNDLE.p7m /inbox/hard.p7m", "chmod 777 /outbox/BUNDLE.p7m", "rmdir /outbox", "get /home/x",
    ])
    func escapesAndWritesOutsideTheInboxAreRefused(_ command: String) throws {
        let g = try gateway()
        let before = try g.events().count
        let r = try g.sftp(command.replacingOccurrences(of: "BUNDLE", with: g.acmeBundle))
        #expect(!r.succeeded, "\(command) must fail: \(r.stdout) \(r.stderr)")
        // The outbox is intact, on disk and as listed.
        #expect(FileManager.default.fileExists(atPath: "\(g.home)/outbox/acme-assessors/\(g.acmeBundle).p7m"))
        #expect(try g.sftp("ls /outbox").stdout.contains(g.acmeBundle))
        let after = try g.events().dropFirst(before)
        #expect(after.contains { $0.hasPrefix("access-refused|refused|acme-assessors|") }, "refusal recorded for \(command)")
        #expect(!FileManager.default.fileExists(atPath: "\(g.home)/inbound/acme-assessors/moved.p7m"))
        #expect(!FileManager.default.fileExists(atPath: "\(g.home)/inbound/acme-assessors/hard.p7m"))
    }

    @Test func uploadsGoToTheInboxOnceAndNeverOverwrite() throws {
        let g = try gateway()
        let work = TemporaryDirectory()
        try work.write("note.pdf", "%PDF-1.4\nreport from the assessor\n")
        try g.ok(try g.sftp("put note.pdf /inbox/note.pdf", in: work.path))
        // Not a sealed report: quarantined with its reason, listed under its name, never overwritten.
        let list = try ClaimgateBinary.run(["inbox", "list", "--home", g.home])
        #expect(list.stdout.contains("quarantined"))
        #expect(try g.sftp("ls /inbox").stdout.contains("note.pdf"))
        try work.write("note2.pdf", "%PDF-1.4\nsomething else\n")
        #expect(!(try g.sftp("put note2.pdf /inbox/note.pdf", in: work.path)).succeeded)
        #expect(try g.events().contains { $0.hasPrefix("upload|success|acme-assessors||") })
        #expect(try g.events().contains { $0.hasPrefix("access-refused|refused|acme-assessors|") && $0.contains("overwrite /inbox/note.pdf") })
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(g.home)/inbound/acme-assessors").allSatisfy { !$0.hasPrefix(".") })
    }

    @Test func unknownKeysAndOtherPartnersNamesAreRefused() throws {
        let g = try gateway()
        let stranger = g.dir.file("stranger")
        try g.ok(try Shell.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger]))
        #expect(!(try g.sftp("ls /outbox", key: stranger)).succeeded)
        // acme's key does not log in as st-marys-hospital.
        #expect(!(try g.sftp("ls /outbox", user: "st-marys-hospital", key: "\(g.pki)/acme-assessors/ssh_ed25519")).succeeded)
        #expect(!(try g.sftp("ls /outbox", user: "nobody", key: "\(g.pki)/acme-assessors/ssh_ed25519")).succeeded)
        usleep(200_000)
        let refused = try g.events().filter { $0.hasPrefix("login-refused|refused|") }
        #expect(refused.contains { $0.contains("unknown-key") })
        #expect(refused.contains { $0.contains("unknown-partner") })
    }

    @Test func remoteCommandsAndForwardingRunNothing() throws {
        let g = try gateway()
        let marker = g.dir.file("pwned")
        let r = try Shell.run(["ssh", "-p", g.port, "-i", "\(g.pki)/acme-assessors/ssh_ed25519", "-o", "UserKnownHostsFile=\(g.known)",
                               "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                               "acme-assessors@127.0.0.1", "touch \(marker)"])
        #expect(!r.succeeded)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(try g.events().contains { $0.hasPrefix("access-refused|refused|acme-assessors|") && $0.contains("exec") })
    }

    @Test func serveStopsGracefullyOnSIGTERM() throws {
        let dir = TemporaryDirectory()
        try #require(try ClaimgateBinary.run(["init", "--home", dir.file("home")]).succeeded)
        let server = try ServerProcess([ClaimgateBinary.path, "serve", "--home", dir.file("home"), "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
                                       logPath: dir.file("serve.log"))
        _ = try server.waitFor("sftp: listening on 127\\.0\\.0\\.1:([0-9]+)")
        #expect(server.stop() == 0)
        #expect(server.text.contains("stopped"))
    }
}

extension SFTPEndToEndTests {
    @Test func aSealedReportUploadedWithStockSFTPIsAcceptedAndATamperedOneQuarantined() throws {
        let g = try gateway()
        let work = TemporaryDirectory()
        let doc = try work.write("assessment.pdf", "%PDF-1.4\nloss assessment for CLM-77\n")
        try g.ok(try Fixtures.sealReport(home: g.home, pki: g.pki, partner: "acme-assessors", claim: "CLM-77", document: doc,
                                         out: work.file("report.p7m"), scratch: work))
        var tampered = try Data(contentsOf: URL(fileURLWithPath: work.file("report.p7m")))
        tampered[tampered.count - 30] ^= 0x04
        try tampered.write(to: URL(fileURLWithPath: work.file("tampered.p7m")))
        // A report signed by another partner's key, uploaded by acme.
        try g.ok(try Fixtures.sealReport(home: g.home, pki: g.pki, partner: "acme-assessors", signer: "st-marys-hospital",
                                         claim: "CLM-77", document: doc, out: work.file("foreign.p7m"), scratch: work))

        try g.ok(try g.sftp("put report.p7m /inbox/report-77.p7m\nput tampered.p7m /inbox/tampered-77.p7m\nput foreign.p7m /inbox/foreign-77.p7m",
                            in: work.path))
        let list = try ClaimgateBinary.run(["inbox", "list", "--home", g.home, "--json"])
        try g.ok(list)
        let reports = try #require(try JSONSerialization.jsonObject(with: list.stdoutData) as? [[String: Any]])
        let byName = Dictionary(reports.map { ($0["file_name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byName["report-77.p7m"]?["state"] as? String == "accepted")
        #expect(byName["report-77.p7m"]?["claim_id"] as? String == "CLM-77")
        #expect(byName["tampered-77.p7m"]?["state"] as? String == "quarantined")
        #expect(byName["foreign-77.p7m"]?["state"] as? String == "quarantined")
        #expect((byName["foreign-77.p7m"]?["reason"] as? String)?.contains("does not chain") == true)

        let accepted = try #require(byName["report-77.p7m"]?["id"] as? String)
        try g.ok(try ClaimgateBinary.run(["inbox", "export", accepted, "--out", work.file("export"), "--home", g.home]))
        #expect(FileManager.default.contents(atPath: work.file("export/assessment.pdf")) == FileManager.default.contents(atPath: work.file("assessment.pdf")))
        // A quarantined upload never becomes visible as a document.
        let quarantined = try #require(byName["tampered-77.p7m"]?["id"] as? String)
        #expect(!(try ClaimgateBinary.run(["inbox", "export", quarantined, "--out", work.file("q"), "--home", g.home])).succeeded)
        #expect(!FileManager.default.fileExists(atPath: work.file("q/assessment.pdf")))
        let events = try g.events()
        #expect(events.contains { $0.hasPrefix("inbound-accepted|success|acme-assessors|") })
        #expect(events.filter { $0.hasPrefix("inbound-quarantined|refused|acme-assessors|") }.count >= 2)
        // Copying a partner's documents out of the gateway is recorded, once, for the accepted report.
        #expect(events.filter { $0.hasPrefix("inbound-exported|success|acme-assessors|") }.count == 1, "\(events)")
    }
}

extension SFTPEndToEndTests {
    /// Idle connections that never log in cannot take the slots partners need: beyond 8 per
    /// address they wait, and a partner from another address still logs in at once.
    @Test func idleUnauthenticatedConnectionsCannotLockPartnersOut() throws {
        let g = try gateway()
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<20 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr("127.0.0.2")
            var remote = sockaddr_in()
            remote.sin_family = sa_family_t(AF_INET)
            remote.sin_addr.s_addr = inet_addr("127.0.0.1")
            remote.sin_port = in_port_t(UInt16(Int(g.port)!).bigEndian)
            let ok = withUnsafePointer(to: &local) { l in
                withUnsafePointer(to: &remote) { r in
                    l.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } == 0
                        && r.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } == 0
                }
            }
            #expect(ok)
            idle.append(fd)
        }
        usleep(300_000)
        // The partner, from 127.0.0.1, is not affected.
        let r = try g.sftp("ls /outbox")
        #expect(r.succeeded, "\(r.stderr)")
    }
}
