import ClaimGateTesting
import Foundation
import Testing

/// The audit trail after real transfers: verification from the database and from an export,
/// every kind of tampering named, a SIGKILL mid-burst, and a trail that cannot be written.
@Suite(.serialized) struct AuditTrailTests {
    final class Run: GatewayUnderTest, @unchecked Sendable {
        var auditKey: String { dir.path + "/audit.pub.pem" }
        var stmBundle = "", acmeBundle = ""

        init() throws {
            try super.init("claimgate-audit")
            try dir.write("audit.pub.pem", try ClaimgateBinary.run(["identity", "--audit-pem", "--home", home]).stdout)
            try onboardStandardPartners(reference: "DSA-AUDIT")
            stmBundle = try send("st-marys-hospital", claim: "CLM-A1")
            acmeBundle = try send("acme-assessors", claim: "CLM-A2")
        }

        /// Sends a report for `claim` to `partner`; the bundle id.
        func send(_ partner: String, claim: String) throws -> String {
            let doc = try dir.write("report-\(claim).pdf", "%PDF-1.4\n" + String(repeating: "claim \(claim) ", count: 5_000))
            let sent = try send(doc, to: partner, claim: claim)
            try ok(sent.result)
            return sent.id
        }

        /// `claimgate audit verify --json` (from the database, or an export with the audit key).
        func verify(export: String? = nil) throws -> (status: Int32, json: [String: Any]) {
            var args = ["audit", "verify", "--json", "--home", home]
            if let export { args += ["--from-export", export, "--key", auditKey] }
            let r = try ClaimgateBinary.run(args)
            let json = (try? JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any]) ?? [:]
            return (r.status, json)
        }

        /// Runs SQL against the database the way an intruder with the file would: the
        /// append-only triggers dropped first.
        func tamper(_ sql: String) throws {
            try ok(Shell.run(["python3", "-c", """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1])
                c.executescript("DROP TRIGGER IF EXISTS event_no_update; DROP TRIGGER IF EXISTS event_no_delete;" + sys.argv[2])
                c.commit()
                """, database, sql]))
        }

        /// A realistic run: HTTPS list, download and receipt; an attempt on another partner's
        /// bundle; an SFTP download; then a graceful stop (which seals the trail).
        func transfer() throws {
            try serve()
            try ok(curl([url("/v1/bundles")]))
            try ok(curl(["-o", dir.file("stm.p7m"), url("/v1/bundles/\(stmBundle)")]))
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", url("/v1/bundles/\(acmeBundle)")]).stdout == "404")
            let sha = try sha256(dir.file("stm.p7m"))
            try ok(curl(["-X", "POST", "-d", "{\"sha256\":\"\(sha)\"}", url("/v1/bundles/\(stmBundle)/receipt")]))
            try ok(sftp("get /outbox/\(acmeBundle).p7m acme.p7m"))
            #expect(server?.stop() == 0)
            server = nil
        }
    }

    @Test func aRealisticRunVerifiesFromTheDatabaseAndFromAnExport() throws {
        let r = try Run()
        try r.transfer()
        let actions = try r.sql("SELECT action || ':' || outcome || ':' || transport FROM event ORDER BY seq").split(separator: "\n")
        for expected in ["queue:success:cli", "download:started:https", "download:success:https", "access-refused:refused:https",
                         "receipt:success:https", "download:started:sftp", "download:success:sftp", "login:success:sftp"] {
            #expect(actions.contains(Substring(expected)), "\(expected) missing from \(actions)")
        }
        let db = try r.verify()
        #expect(db.status == 0, "\(db.json)")
        #expect(db.json["intact"] as? Bool == true)
        #expect(db.json["unsealed"] as? Int == 0, "serve seals the trail when it stops: \(db.json)")
        #expect(db.json["entries"] as? Int == actions.count)

        try r.ok(ClaimgateBinary.run(["audit", "export", "--home", r.home, "-o", r.dir.file("trail.jsonl")]))
        let fromExport = try r.verify(export: r.dir.file("trail.jsonl"))
        #expect(fromExport.status == 0, "\(fromExport.json)")
        #expect(fromExport.json["signatures_checked"] as? Bool == true)
        // The export itself was recorded (and sealed) before it was written.
        #expect(fromExport.json["entries"] as? Int == actions.count + 1)
        // The document content and the claimant's data never appear in the trail.
        let text = try String(contentsOfFile: r.dir.file("trail.jsonl"), encoding: .utf8)
        #expect(!text.contains("claim CLM-A1 claim"))
        // A key that is not the gateway's does not verify the checkpoints.
        let other = TemporaryDirectory()
        try r.ok(Shell.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", other.file("k.pem")]))
        try r.ok(Shell.run(["openssl", "pkey", "-in", other.file("k.pem"), "-pubout", "-out", other.file("pub.pem")]))
        let wrongKey = try ClaimgateBinary.run(["audit", "verify", "--from-export", r.dir.file("trail.jsonl"), "--key", other.file("pub.pem")])
        #expect(wrongKey.status == 1)
    }

    @Test func everyKindOfTamperingIsDetectedAndTheEntryNamed() throws {
        let r = try Run()
        try r.transfer()
        try r.ok(ClaimgateBinary.run(["audit", "export", "--home", r.home, "-o", r.dir.file("pristine.jsonl")]))
        // Fold the write-ahead log into the database file, then keep a pristine copy.
        _ = try r.sql("PRAGMA wal_checkpoint(TRUNCATE)")
        let pristine = r.database + ".pristine"
        try FileManager.default.copyItem(atPath: r.database, toPath: pristine)
        let last = Int(try r.sql("SELECT max(seq) FROM event"))!
        // An inserted or moved entry shows either as an entry whose hash does not match its
        // content and position, or as a broken link, depending on what the intruder recomputed.
        let moved: Set<String> = ["entry-edited", "link-broken"]
        let cases: [(name: String, sql: String, codes: Set<String>, sequence: Int)] = [
            ("edit a field", "UPDATE event SET purpose = 'marketing' WHERE seq = 5", ["entry-edited"], 5),
            ("delete an entry", "DELETE FROM event WHERE seq = 6", ["sequence-gap"], 6),
            ("insert an entry", """
                UPDATE event SET seq = seq + 1000 WHERE seq >= 4; UPDATE event SET seq = seq - 999 WHERE seq >= 1004;
                INSERT INTO event(seq, time, actor, action, outcome, document_digests, transport, prev_hash, hash)
                SELECT 4, time, actor, 'listing', 'success', '[]', 'https', hash, hash FROM event WHERE seq = 3
                """, moved, 4),
            ("swap two entries", """
                UPDATE event SET seq = -1 WHERE seq = 7; UPDATE event SET seq = 7 WHERE seq = 8; UPDATE event SET seq = 8 WHERE seq = -1
                """, moved, 7),
            ("truncate the tail", "DELETE FROM event WHERE seq > \(last - 3)", ["truncated"], last - 2),
        ]
        for c in cases {
            try? FileManager.default.removeItem(atPath: r.database)
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: r.database + suffix) }
            try FileManager.default.copyItem(atPath: pristine, toPath: r.database)
            try r.tamper(c.sql)
            let v = try r.verify()
            #expect(v.status == 1, "\(c.name): \(v.json)")
            #expect(c.codes.contains(v.json["problem_code"] as? String ?? ""), "\(c.name): \(v.json)")
            #expect(v.json["problem_sequence"] as? Int == c.sequence, "\(c.name): \(v.json)")
        }

        // The same on an export: an edited line, and a removed line.
        let lines = try String(contentsOfFile: r.dir.file("pristine.jsonl"), encoding: .utf8).split(separator: "\n").map(String.init)
        // The first entry with a purpose (a `queue` after init's entries and the onboardings).
        let target = try #require(lines.firstIndex { $0.contains("\"type\":\"entry\"") && $0.contains("\"purpose\":\"claim-assessment\"") })
        let targetSequence = try #require((try JSONSerialization.jsonObject(with: Data(lines[target].utf8)) as? [String: Any])?["seq"] as? Int)
        var edited = lines
        edited[target] = edited[target].replacingOccurrences(of: "claim-assessment", with: "marketing")
        #expect(edited != lines)
        try r.dir.write("edited.jsonl", edited.joined(separator: "\n") + "\n")
        let e = try r.verify(export: r.dir.file("edited.jsonl"))
        #expect(e.status == 1)
        #expect(e.json["problem_code"] as? String == "entry-edited" && e.json["problem_sequence"] as? Int == targetSequence, "\(e.json)")
        let removed = lines.filter { !($0.contains("\"seq\":6,") && $0.contains("\"type\":\"entry\"")) }
        try r.dir.write("removed.jsonl", removed.joined(separator: "\n") + "\n")
        let d = try r.verify(export: r.dir.file("removed.jsonl"))
        #expect(d.json["problem_code"] as? String == "sequence-gap" && d.json["problem_sequence"] as? Int == 6, "\(d.json)")
    }

    @Test func aGatewayKilledMidBurstLeavesAVerifiableTrailAndNoUnrecordedDownload() throws {
        let r = try Run()
        try r.serve(extra: ["--audit-interval", "1"])
        // Eight parallel curl processes, each fetching the bundle 40 times over one connection.
        var config = ""
        for _ in 0..<40 { config += "url = \"\(r.url("/v1/bundles/\(r.stmBundle)"))\"\noutput = \"/dev/null\"\n" }
        let configFile = try r.dir.write("burst.curl", config)
        let script = """
            for i in 1 2 3 4 5 6 7 8; do
              curl -s --cacert '\(r.trust)' --cert '\(r.pki)/st-marys-hospital/tls-client.pem' --key '\(r.pki)/st-marys-hospital/tls-client.key' \
                -K '\(configFile)' -w '%{http_code} %{size_download}\\n' > '\(r.dir.path)/burst-'$i.out 2>/dev/null &
            done
            wait
            """
        let burst = try ServerProcess(["/bin/bash", "-c", script], logPath: r.dir.file("burst.log"))
        // Let part of the burst through, then kill the gateway without warning.
        let size = Int(try r.sql("SELECT file_size FROM bundle WHERE id = '\(r.stmBundle)'"))!
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, Int(try r.sql("SELECT count(*) FROM event WHERE action = 'download'")) ?? 0 < 40 { usleep(20_000) }
        kill(r.server!.pid, SIGKILL)
        _ = r.server?.stop()
        r.server = nil
        _ = burst.stop(timeout: 30)

        // Every download a client received in full has its entry.
        var served = 0
        for i in 1...8 {
            let out = (try? String(contentsOfFile: r.dir.file("burst-\(i).out"), encoding: .utf8)) ?? ""
            served += out.split(separator: "\n").filter { $0 == "200 \(size)" }.count
        }
        let started = Int(try r.sql("SELECT count(*) FROM event WHERE action = 'download' AND outcome = 'started'"))!
        #expect(served > 0, "the burst was under way when the gateway was killed")
        #expect(served <= started, "\(served) downloads served, \(started) recorded")
        // The trail verifies up to its last committed entry; what came after the last
        // checkpoint is reported as unsealed, not as damage.
        let v = try r.verify()
        #expect(v.status == 0, "\(v.json)")
        #expect(v.json["intact"] as? Bool == true)
        #expect((v.json["last_sealed_sequence"] as? Int ?? 0) > 0)
        // The next command that writes seals the rest (read-only ones, such as `bundle list`,
        // open the database read-only and write nothing).
        try r.ok(ClaimgateBinary.run(["purge", "--home", r.home]))
        #expect(try r.verify().json["unsealed"] as? Int == 0)
    }

    @Test func whenTheAuditTrailCannotBeWrittenNothingIsSentOrServed() throws {
        let r = try Run()
        try r.serve()
        // Another process holds the database's write lock (as a stuck backup or a full disk would
        // stop writes): nothing that needs an entry may happen.
        let locker = try ServerProcess(["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            time.sleep(120)
            """, r.database], logPath: r.dir.file("locker.log"))
        _ = try locker.waitFor("locked")
        let before = try FileManager.default.contentsOfDirectory(atPath: r.home + "/outbox/st-marys-hospital")
        let doc = try r.dir.write("late.pdf", "%PDF-1.4\nlate report")
        let send = try r.send(doc, to: "st-marys-hospital", claim: "CLM-LOCK").result
        #expect(!send.succeeded)
        #expect(send.stderr.contains("cannot be written"), "\(send.stderr)")
        #expect(send.stderr.contains("locked"), "\(send.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: r.home + "/outbox/st-marys-hospital") == before, "no bundle left behind")

        let download = try r.curl(["-o", r.dir.file("locked.p7m"), "-w", "%{http_code}", r.url("/v1/bundles/\(r.stmBundle)")])
        #expect(download.stdout == "503", "\(download.stdout) \(download.stderr)")
        let got = (try? Data(contentsOf: URL(fileURLWithPath: r.dir.file("locked.p7m")))) ?? Data()
        #expect(!got.starts(with: [0x30]), "no bundle bytes were served")
        _ = locker.stop()
        // Once the lock is gone, the same download works and is recorded.
        #expect(try r.curl(["-o", "/dev/null", "-w", "%{http_code}", r.url("/v1/bundles/\(r.stmBundle)")]).stdout == "200")
        #expect(try r.verify().status == 0)
    }
}
