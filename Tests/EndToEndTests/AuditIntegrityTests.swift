import ClaimGateTesting
import Foundation
import Testing

/// Hardening of the audit trail and its database (issue 14): an export refuses a trail that does
/// not verify, an export must end sealed, a store that lost its beginning (or its bundles' entries)
/// is tampered, a damaged database is one sentence and status 74, read-only commands change
/// nothing, and the database files are the owner's only. The store is edited with the stock
/// `sqlite3` command, as someone with the file would.
@Suite struct AuditIntegrityTests {
    final class Run: GatewayUnderTest, @unchecked Sendable {
        var auditKey: String { dir.path + "/audit.pub.pem" }
        var bundle = ""

        /// An initialised home; with `partners`, the standard partners and one bundle sent.
        init(partners: Bool = true) throws {
            try super.init("claimgate-integrity")
            try dir.write("audit.pub.pem", try ClaimgateBinary.run(["identity", "--audit-pem", "--home", home]).stdout)
            guard partners else { return }
            try onboardStandardPartners(reference: "DSA-INTEGRITY")
            let doc = try dir.write("report.pdf", "%PDF-1.4\n" + String(repeating: "claim report ", count: 200))
            let sent = try send(doc, to: Self.httpsPartner, claim: "CLM-I1")
            try ok(sent.result)
            bundle = sent.id
        }

        /// `sqlite3 DATABASE SQL` with the append-only triggers dropped first.
        func sqlite3(_ sql: String, database: String? = nil) throws {
            try ok(Shell.run(["sqlite3", database ?? self.database,
                              "DROP TRIGGER IF EXISTS event_no_update; DROP TRIGGER IF EXISTS event_no_delete; " + sql]))
        }

        func count(_ table: String) throws -> Int { Int(try sql("SELECT count(*) FROM \(table)"))! }

        func claimgate(_ args: [String], home: String? = nil) throws -> Shell.Result {
            try ClaimgateBinary.run(args + ["--home", home ?? self.home])
        }

        /// The key id of the audit public key: SHA-256 of its DER SubjectPublicKeyInfo.
        func auditKeyID() throws -> String {
            String(try Shell.bash("openssl pkey -pubin -in '\(auditKey)' -outform DER | sha256sum").stdout.prefix(64))
        }
    }

    // MARK: 1. An export of a trail that does not verify

    @Test func anExportOfATamperedTrailFailsWithTheVerifierFindingAndWritesNoCheckpoint() throws {
        let r = try Run()
        let queued = try r.sql("SELECT seq FROM event WHERE action = 'queue'")
        try r.sqlite3("UPDATE event SET claim_id = 'CLM-OTHER' WHERE seq = \(queued)")
        let checkpoints = try r.count("audit_checkpoint"), entries = try r.count("event")

        let verify = try r.claimgate(["audit", "verify"])
        #expect(verify.status == 1)
        let finding = try #require(verify.stdout.split(separator: "\n").first.map(String.init))
        #expect(finding.hasPrefix("TAMPERED: Entry \(queued) was edited"), "\(finding)")

        let out = r.dir.file("tampered.jsonl")
        let export = try r.claimgate(["audit", "export", "-o", out])
        #expect(export.status == 1, "\(export.stdout) \(export.stderr)")
        #expect(export.stderr.contains(finding), "\(export.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try r.count("audit_checkpoint") == checkpoints, "no checkpoint seals a tampered trail")
        #expect(try r.count("event") == entries, "nothing is recorded on a tampered trail")
        // Standard output gets nothing either.
        let toStdout = try r.claimgate(["audit", "export"])
        #expect(toStdout.status == 1)
        #expect(toStdout.stdout.isEmpty)
    }

    // MARK: 2. An export must end with a checkpoint covering its last entry

    @Test func anExportWithoutItsFinalCheckpointOrWithOnlyAHeaderDoesNotVerify() throws {
        let r = try Run()
        let full = r.dir.file("full.jsonl")
        try r.ok(r.claimgate(["audit", "export", "-o", full]))
        let last = try #require(try String(contentsOfFile: full, encoding: .utf8).split(separator: "\n").last)
        #expect(last.contains("\"type\":\"checkpoint\""), "an export ends with the checkpoint of its last entry")
        try r.ok(ClaimgateBinary.run(["audit", "verify", "--from-export", full, "--key", r.auditKey]))

        try r.ok(Shell.bash("head -n -1 '\(full)' > '\(r.dir.file("cut.jsonl"))'"))
        try r.ok(Shell.bash("grep -v '\"type\":\"checkpoint\"' '\(full)' > '\(r.dir.file("nocheckpoint.jsonl"))'"))
        try r.ok(Shell.bash("head -n 1 '\(full)' > '\(r.dir.file("header.jsonl"))'"))
        for name in ["cut.jsonl", "nocheckpoint.jsonl", "header.jsonl"] {
            let v = try ClaimgateBinary.run(["audit", "verify", "--from-export", r.dir.file(name), "--key", r.auditKey])
            #expect(v.status == 1, "\(name): \(v.stdout) \(v.stderr)")
            #expect(v.stdout.hasPrefix("TAMPERED: "), "\(name): \(v.stdout)")
            let json = try ClaimgateBinary.run(["audit", "verify", "--json", "--from-export", r.dir.file(name), "--key", r.auditKey])
            let out = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
            #expect(out["intact"] as? Bool == false)
            #expect(["unsealed-end", "empty-export"].contains(out["problem_code"] as? String ?? ""), "\(name): \(out)")
        }
        let cut = try ClaimgateBinary.run(["audit", "verify", "--from-export", r.dir.file("cut.jsonl"), "--key", r.auditKey])
        #expect(cut.stdout.contains("not sealed by a checkpoint"), "\(cut.stdout)")
        let header = try ClaimgateBinary.run(["audit", "verify", "--from-export", r.dir.file("header.jsonl"), "--key", r.auditKey])
        #expect(header.stdout.contains("no entries"), "\(header.stdout)")
    }

    /// An export carries only the checkpoint of its last entry: with every checkpoint in it, a
    /// file cut just after an earlier one would read as a shorter export, sealed.
    @Test func anExportCutAfterAnEarlierCheckpointDoesNotVerify() throws {
        let r = try Run()
        // More checkpoints in the store: each command seals what it recorded.
        for i in 0..<3 { try r.send(try r.dir.write("more-\(i).pdf", "%PDF-1.4\n\(i)"), to: GatewayUnderTest.httpsPartner, claim: "CLM-CUT\(i)") }
        #expect(try r.count("audit_checkpoint") >= 4)
        let full = r.dir.file("full.jsonl")
        try r.ok(r.claimgate(["audit", "export", "-o", full]))
        let lines = try String(contentsOfFile: full, encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.contains("\"type\":\"checkpoint\"") }.count == 1, "only the final checkpoint")
        // Cut anywhere before the end: never sealed.
        try r.ok(Shell.bash("head -n \(lines.count / 2) '\(full)' > '\(r.dir.file("half.jsonl"))'"))
        let v = try ClaimgateBinary.run(["audit", "verify", "--from-export", r.dir.file("half.jsonl"), "--key", r.auditKey])
        #expect(v.status == 1, "\(v.stdout)")
    }

    // MARK: 3. The chain starts with a signed genesis entry; every bundle has its entries

    /// Checkpoints are rows in the database: someone who can write it (but not read the audit
    /// key) deletes them and re-chains the entries. The gateway must not sign a checkpoint over
    /// that trail, and `audit verify` must say so.
    @Test func theGatewaySignsNoCheckpointOverATrailWhoseCheckpointsWereRemoved() throws {
        let r = try Run()
        let before = try r.count("audit_checkpoint")
        // Re-chain: drop the checkpoints and edit an entry with its hash recomputed is more than
        // sqlite3 can do; deleting the checkpoints is enough for the gateway to have signed over
        // whatever it found.
        try r.sqlite3("DELETE FROM audit_checkpoint")
        let purge = try r.claimgate(["purge"])
        #expect(purge.stderr.contains("tampered"), "\(purge.stderr)")
        #expect(try r.count("audit_checkpoint") == 0, "no checkpoint signed over the trail (\(before) before)")
        let v = try r.claimgate(["audit", "verify"])
        #expect(v.status == 1, "\(v.stdout) \(v.stderr)")
        #expect(v.stdout.hasPrefix("TAMPERED: "), "\(v.stdout)")
        let export = try r.claimgate(["audit", "export", "-o", r.dir.file("x.jsonl")])
        #expect(export.status == 1)
        #expect(try r.count("audit_checkpoint") == 0)
    }

    /// The store's record of how its trail began is a plain row: setting it to "began before the
    /// genesis entry" and writing a fresh chain without checkpoints must not pass.
    @Test func aForgedLegacyOriginIsTampered() throws {
        let r = try Run()
        try r.sqlite3("UPDATE gateway_setting SET value = 'legacy:3' WHERE key = 'audit_origin'; DELETE FROM audit_checkpoint")
        let v = try r.claimgate(["audit", "verify"])
        #expect(v.status == 1, "\(v.stdout) \(v.stderr)")
        #expect(v.stdout.hasPrefix("TAMPERED: "), "\(v.stdout)")
    }

    @Test func aNewHomeStartsWithAGenesisEntryNamingItsAuditKeySealedAtOnce() throws {
        let r = try Run(partners: false)
        let first = try r.sql("SELECT action || '|' || actor || '|' || reason FROM event WHERE seq = 1")
        #expect(first == "audit-genesis|system|audit-key: \(try r.auditKeyID())")
        #expect(try r.sql("SELECT action FROM event WHERE seq = 2") == "gateway-initialised")
        #expect(try r.sql("SELECT action || '|' || actor || '|' || reason_code FROM event WHERE seq = 3") == "key-created|system|operator-ca")
        #expect(Int(try r.sql("SELECT min(seq) FROM audit_checkpoint")) == 3, "init seals its entries at once")
        try r.ok(r.claimgate(["audit", "verify"]))
    }

    @Test func aStoreEmptiedOrMissingItsFirstEntryIsTampered() throws {
        let r = try Run()
        try r.sqlite3("PRAGMA wal_checkpoint(TRUNCATE)")
        let pristine = r.database + ".pristine"
        try FileManager.default.copyItem(atPath: r.database, toPath: pristine)
        let cases: [(name: String, sql: String, says: String)] = [
            ("every entry and checkpoint deleted", "DELETE FROM event; DELETE FROM audit_checkpoint", "genesis"),
            ("every entry deleted", "DELETE FROM event", "removed"),
            ("the first entry deleted", "DELETE FROM event WHERE seq = 1", "entry 1"),
            ("the first entries and their checkpoints deleted", "DELETE FROM event WHERE seq <= 4; DELETE FROM audit_checkpoint WHERE seq <= 4", "entr"),
        ]
        for c in cases {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: r.database + suffix) }
            try FileManager.default.copyItem(atPath: pristine, toPath: r.database)
            try r.sqlite3(c.sql)
            let v = try r.claimgate(["audit", "verify"])
            #expect(v.status == 1, "\(c.name): \(v.stdout) \(v.stderr)")
            #expect(v.stdout.hasPrefix("TAMPERED: ") && v.stdout.contains(c.says), "\(c.name): \(v.stdout)")
        }
    }

    @Test func aStoreRecreatedWithoutItsHistoryIsTampered() throws {
        let r = try Run()
        // The schema and settings of the store, but none of its entries or checkpoints: what a
        // deleted database re-created next to the same identity holds.
        let dump = try Shell.run(["sqlite3", r.database, ".dump"])
        try r.ok(dump)
        let schemaOnly = dump.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("INSERT INTO event ") && !$0.hasPrefix("INSERT INTO audit_checkpoint ")
                && !$0.hasPrefix("INSERT INTO bundle ") && !$0.hasPrefix("INSERT INTO delivery ") }
            .joined(separator: "\n")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: r.database + suffix) }
        try r.ok(Shell.run(["sqlite3", r.database], stdin: Data(schemaOnly.utf8)))
        #expect(try r.count("event") == 0)
        let v = try r.claimgate(["audit", "verify"])
        #expect(v.status == 1, "\(v.stdout) \(v.stderr)")
        #expect(v.stdout.hasPrefix("TAMPERED: ") && v.stdout.contains("genesis"), "\(v.stdout)")

        // Without the settings either.
        try r.sqlite3("DELETE FROM gateway_setting WHERE key = 'audit_origin'")
        let bare = try r.claimgate(["audit", "verify"])
        #expect(bare.status == 1, "\(bare.stdout) \(bare.stderr)")
    }

    @Test func aBundleRowWithoutItsAuditEntriesIsTampered() throws {
        let r = try Run()
        try r.ok(r.claimgate(["audit", "verify"]))
        let forged = "0b7e1f00-0000-4000-8000-00000000f00d"
        try r.sqlite3("""
            CREATE TEMP TABLE t AS SELECT * FROM bundle WHERE id = '\(r.bundle)'; UPDATE t SET id = '\(forged)';
            INSERT INTO bundle SELECT * FROM t
            """)
        let v = try r.claimgate(["audit", "verify"])
        #expect(v.status == 1, "\(v.stdout) \(v.stderr)")
        #expect(v.stdout.hasPrefix("TAMPERED: ") && v.stdout.contains(forged), "\(v.stdout)")

        // Without the forged row, the trail verifies again.
        try r.sqlite3("DELETE FROM bundle WHERE id = '\(forged)'")
        try r.ok(r.claimgate(["audit", "verify"]))
    }

    // MARK: 4. A database that cannot be read

    @Test func aDatabaseThatCannotBeReadIsOneSentenceAndStatus74() throws {
        let r = try Run()
        try r.sqlite3("PRAGMA wal_checkpoint(TRUNCATE)")
        let pristine = r.database + ".pristine"
        try FileManager.default.copyItem(atPath: r.database, toPath: pristine)
        let size = (try FileManager.default.attributesOfItem(atPath: pristine)[.size] as? Int) ?? 0
        #expect(size > 8192)
        let damage: [(name: String, script: String)] = [
            ("not a database", "head -c 65536 /dev/urandom > '\(r.database)'"),
            ("pages overwritten", "dd if=/dev/urandom of='\(r.database)' bs=1024 seek=2 count=\(size / 1024 - 2) conv=notrunc 2>/dev/null"),
        ]
        for d in damage {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: r.database + suffix) }
            try FileManager.default.copyItem(atPath: pristine, toPath: r.database)
            try r.ok(Shell.bash(d.script))
            for command in [["audit", "verify"], ["audit", "export", "-o", r.dir.file("x-\(UUID().uuidString.prefix(6)).jsonl")],
                            ["bundle", "list"], ["doctor"], ["partner", "list"]] {
                let result = try r.claimgate(command)
                let what = "\(d.name), \(command.prefix(2).joined(separator: " "))"
                #expect(result.status == 74, "\(what): exit \(result.status) \(result.stdout) \(result.stderr)")
                let lines = result.stderr.split(separator: "\n")
                #expect(lines.count == 1, "\(what): \(result.stderr)")
                #expect(result.stderr.hasPrefix("error: The gateway database at \(r.database) is damaged"), "\(what): \(result.stderr)")
                #expect(result.stderr.contains("restore"), "\(what): \(result.stderr)")
                #expect(!result.stderr.contains("SQLite error") && !result.stderr.contains("SELECT"), "\(what): \(result.stderr)")
            }
        }
    }

    // MARK: 5. Read-only commands on a read-only copy

    @Test func readOnlyCommandsWorkOnAReadOnlyCopyAndChangeNothing() throws {
        let r = try Run()
        // Fold the write-ahead log into the database, so that the copy is one file (a home after
        // a clean stop, or a backup).
        try r.ok(Shell.run(["sqlite3", r.database, "PRAGMA wal_checkpoint(TRUNCATE)"]))
        let copy = r.dir.file("copy")
        try r.ok(Shell.run(["cp", "-a", r.home, copy]))
        let db = copy + "/claimgate.sqlite"
        for suffix in ["-wal", "-shm"] { #expect(!FileManager.default.fileExists(atPath: db + suffix)) }
        try r.ok(Shell.run(["chmod", "-R", "a-w", copy]))
        defer { _ = try? Shell.run(["chmod", "-R", "u+w", copy]) }
        let before = try Shell.run(["stat", "-c", "%s %y %a", db]).stdout
        let digest = try r.sha256(db)

        let verify = try r.claimgate(["audit", "verify"], home: copy)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.hasPrefix("OK: "))
        let list = try r.claimgate(["bundle", "list"], home: copy)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains(r.bundle))
        let doctor = try r.claimgate(["doctor"], home: copy)
        #expect(doctor.status < 64, "\(doctor.stdout) \(doctor.stderr)")
        let out = r.dir.file("from-copy.jsonl")
        let export = try r.claimgate(["audit", "export", "-o", out], home: copy)
        #expect(export.status == 0, "\(export.stdout) \(export.stderr)")
        try r.ok(ClaimgateBinary.run(["audit", "verify", "--from-export", out, "--key", r.auditKey]))

        #expect(try Shell.run(["stat", "-c", "%s %y %a", db]).stdout == before)
        #expect(try r.sha256(db) == digest)
        for suffix in ["-wal", "-shm", "-journal"] {
            #expect(!FileManager.default.fileExists(atPath: db + suffix), "\(suffix) created in a read-only home")
        }
        // The original home, which is writable, records and seals its export.
        let entries = try r.count("event")
        try r.ok(r.claimgate(["audit", "export", "-o", r.dir.file("from-home.jsonl")]))
        #expect(try r.count("event") == entries + 1)
        #expect(try r.sql("SELECT action FROM event ORDER BY seq DESC LIMIT 1") == "audit-exported")
    }

    // MARK: 6. The database files are the owner's only

    @Test func theDatabaseAndItsWriteAheadLogAreOwnerOnlyAndDoctorReportsWiderModes() throws {
        let r = try Run(partners: false)
        func mode(_ path: String) throws -> String { try Shell.run(["stat", "-c", "%a", path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(try mode(r.database) == "600")
        try r.onboardStandardPartners(reference: "DSA-MODES")
        try r.serve()
        #expect(try r.curlStatus("/v1/bundles") == "200")
        for suffix in ["", "-wal", "-shm"] {
            #expect(try mode(r.database + suffix) == "600", "claimgate.sqlite\(suffix)")
        }
        #expect(r.server?.stop() == 0)
        r.server = nil
        #expect(try r.claimgate(["doctor"]).stdout.contains("database-permissions") == false)

        try r.ok(Shell.run(["chmod", "0644", r.database]))
        let doctor = try r.claimgate(["doctor"])
        #expect(doctor.status == 1, "\(doctor.stdout) \(doctor.stderr)")
        let line = try #require(doctor.stdout.split(separator: "\n").first { $0.contains("database-permissions") }, "\(doctor.stdout)")
        #expect(line.hasPrefix("warning"))
        #expect(line.contains("mode 0644"))
        #expect(line.contains("chmod 600 \(r.database)"), "\(line)")
    }
}
