import Audit
import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import Testing

@Suite struct AuditExportTests {
    let log: SampleLog
    init() throws { log = try SampleLog(key: TestKeys.gateway) }

    var header: AuditExportHeader {
        AuditExportHeader(exported: "2026-11-22T09:00:00.000Z", keyID: log.key.publicKey.keyID,
                          publicKeyPEM: log.key.publicKey.pem)
    }

    func export(_ records: [AuditRecord], to dir: TemporaryDirectory, name: String = "audit.jsonl") throws -> String {
        let path = dir.file(name)
        let writer = try AuditExportWriter(path: path, header: header)
        for r in records { try writer.write(r) }
        try writer.close()
        return path
    }

    func readAll(_ path: String) throws -> (AuditExportHeader, [AuditRecord]) {
        let reader = try AuditExportReader(path: path)
        var out: [AuditRecord] = []
        while let r = try reader.next() { out.append(r) }
        return (reader.header, out)
    }

    func expectMalformed(_ lines: [String], line: Int, _ fragment: String = "",
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("bad.jsonl", lines.joined(separator: "\n") + "\n")
        do {
            _ = try readAll(path)
            Issue.record("no error for line \(line)", sourceLocation: sourceLocation)
        } catch let e as AuditError {
            #expect(e.code == .malformedExport, "\(e)", sourceLocation: sourceLocation)
            #expect(e.message.hasPrefix("Line \(line) "), "\(e)", sourceLocation: sourceLocation)
            #expect(fragment.isEmpty || e.message.contains(fragment), "\(e)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Format

    /// The test vector of docs/audit-format.md: encoding, hash and export line.
    @Test func documentedTestVector() throws {
        var chain = AuditChain()
        let e = chain.append(AuditEntry(
            time: "2026-11-22T01:02:03.456Z", actor: "partner:acme-insurance", action: "download", outcome: "success",
            partnerID: "acme-insurance", claimID: "CLM-2026-0042", bundleID: "6f1c2b1e-9a4d-4c1e-8f3a-2b7d9e0c5a11",
            documentDigests: ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"], bytes: 1_048_576,
            transport: "sftp", clientAddress: "192.0.2.10"))
        let doc = try Self.document()
        let start = try #require(doc.range(of: "Encoding (326 bytes, hex, one part per line):\n\n```\n"))
        let block = doc[start.upperBound...].prefix { $0 != "`" }
        // Each line: hex groups, then a label.
        let hex = block.split(separator: "\n").map { line in
            line.split(separator: " ").prefix { $0.allSatisfy(\.isHexDigit) }.joined()
        }.joined()
        let encoding = AuditEntryHasher().canonicalEncoding(of: e, previous: AuditEntry.genesisHash)
        #expect(encoding.count == 326)
        #expect(Hex.encode(encoding) == hex)
        #expect(Hex.encode(e.hash) == "f8810e47ad89d307023a7d25b76589393e0e4e2ef678e0c8f8df6228aa1e8c0b")
        #expect(doc.contains("hash = `\(Hex.encode(e.hash))`"))
        #expect(doc.contains("\n" + AuditExport.line(for: .entry(e)) + "\n"))
        #expect(AuditExport.line(for: .entry(e)).hasPrefix(#"{"type":"entry","seq":1,"time":"2026-11-22T01:02:03.456Z","actor":"#))
    }

    @Test func auditTimeFormat() {
        let d = Date(timeIntervalSince1970: 1_795_309_323.4569)
        #expect(AuditTime.format(d) == "2026-11-22T01:02:03.456Z")
        #expect(AuditTime.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(AuditTime.parse("2026-11-22T01:02:03.456Z").map { abs($0.timeIntervalSince1970 - 1_795_309_323.456) < 0.0005 } == true)
        #expect(AuditTime.parse("2026-11-22T01:02:03Z") == nil)
    }

    @Test func transferEventsBecomeEntries() throws {
        let bundle = BundleID.random()
        let event = TransferEventFixture.download(bundle: bundle)
        let e = AuditEntry(event: event)
        #expect(e.actor == "partner:acme-insurance" && e.action == "download" && e.outcome == "partial")
        #expect(e.bundleID == bundle.description && e.transport == "sftp" && e.time == "2026-11-22T01:02:03.456Z")
        #expect(e.partnerID == "acme-insurance" && e.bytes == 10 && e.sequence == 0 && e.hash.isEmpty)
    }

    // MARK: Round trip

    @Test func exportRoundTripsAndVerifies() throws {
        let dir = TemporaryDirectory()
        let path = try export(log.records, to: dir)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 1 + 50 + 5)
        #expect(text.hasPrefix(#"{"type":"claimgate-audit-export","version":1,"entry_hash":"claimgate-audit-entry-v1","#))
        let (h, records) = try readAll(path)
        #expect(h == header)
        #expect(records == log.records)
        // The sample log leaves 46…50 unsealed: an export never ends so, so it reads as cut short.
        let r = try AuditVerifier.verify(exportAt: path, keys: [log.key.publicKey])
        #expect(r.entryCount == 50 && r.lastSealedSequence == 45, "\(r)")
        #expect(r.problem?.code == .unsealedEnd && r.problem?.sequence == 46, "\(r)")
        let sealed = try export(log.records.filter { if case .entry(let e) = $0 { return e.sequence <= 45 }; return true }, to: dir, name: "sealed.jsonl")
        #expect(try AuditVerifier.verify(exportAt: sealed, keys: [log.key.publicKey]).isIntact)
        // The file is private to its owner, and never overwritten.
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect { try AuditExportWriter(path: path, header: header) } throws: { ($0 as? AuditError)?.code == .io }
    }

    @Test func externalCheckpointFindsATruncatedExport() throws {
        let dir = TemporaryDirectory()
        let records = log.records.filter {
            if case .entry(let e) = $0 { return e.sequence <= 38 }
            if case .checkpoint(let c) = $0 { return c.sequence <= 38 }
            return true
        }
        let path = try export(records, to: dir)
        // Its end no longer has a checkpoint (the last one left is entry 30's)…
        let alone = try AuditVerifier.verify(exportAt: path, keys: [log.key.publicKey])
        #expect(alone.problem?.code == .unsealedEnd && alone.problem?.sequence == 31, "\(alone)")
        // …and the checkpoint kept elsewhere says what was removed.
        let kept = log.checkpoints.last!
        let r = try AuditVerifier.verify(exportAt: path, keys: [log.key.publicKey], checkpoints: [kept])
        #expect(r.problem?.code == .truncated && r.problem?.sequence == 39)
    }

    @Test func largeExportStreams() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("big.jsonl")
        let writer = try AuditExportWriter(path: path, header: header)
        var chain = AuditChain()
        for e in SyntheticLog(count: 20_000) {
            try writer.write(e)
            chain = AuditChain(resumingAfter: e)
        }
        try writer.write(try chain.checkpoint(time: SampleLog.time(20_001), signingKey: log.key))
        try writer.close()
        let r = try AuditVerifier.verify(exportAt: path, keys: [log.key.publicKey])
        #expect(r.isIntact && r.entryCount == 20_000 && r.unsealedCount == 0, "\(r)")
    }

    @Test func readerAcceptsBlankLinesCRLFAndEscapes() throws {
        let dir = TemporaryDirectory()
        var e = log.entries[0]
        e.reason = "lock 🔒 \"q\" / \\ é"
        e.hash = e.computeHash()
        let escaped = AuditExport.line(for: .entry(e))
            .replacingOccurrences(of: "🔒", with: "\\ud83d\\udd12").replacingOccurrences(of: "é", with: "\\u00e9")
            .replacingOccurrences(of: "/", with: "\\/")
        let path = try dir.write("e.jsonl", AuditExport.line(for: header) + "\r\n\n" + escaped + "\r\n\n")
        let (_, records) = try readAll(path)
        #expect(records == [.entry(e)])
    }

    // MARK: Malformed input

    @Test func malformedLinesNameTheirLineNumber() throws {
        let h = AuditExport.line(for: header)
        let good = AuditExport.line(for: log.records[0])
        let cp = AuditExport.line(for: .checkpoint(log.checkpoints[0]))
        try expectMalformed([h, good, "{\"type\":\"entry\""], line: 3, "not valid JSON")
        try expectMalformed([h, good, "", "not json"], line: 4)
        try expectMalformed([h, good.replacingOccurrences(of: "\"seq\":1", with: "\"seq\":1.0")], line: 2, "whole number")
        try expectMalformed([h, good.replacingOccurrences(of: "\"seq\":1", with: "\"seq\":1,\"seq\":2")], line: 2, "appears twice")
        try expectMalformed([h, good.replacingOccurrences(of: "\"seq\":1", with: "\"seq\":1,\"note\":\"x\"")], line: 2, "unknown key \"note\"")
        try expectMalformed([h, good.replacingOccurrences(of: "\"seq\":1,", with: "")], line: 2, "\"seq\" is missing")
        try expectMalformed([h, good.replacingOccurrences(of: "\"seq\":1", with: "\"seq\":0")], line: 2, "1 or more")
        try expectMalformed([h, good.replacingOccurrences(of: "\"prev\":\"00", with: "\"prev\":\"0")], line: 2, "64 hex digits")
        try expectMalformed([h, good.replacingOccurrences(of: "\"prev\":\"00", with: "\"prev\":\"zz")], line: 2, "64 hex digits")
        try expectMalformed([h, good.replacingOccurrences(of: "\"type\":\"entry\"", with: "\"type\":\"comment\"")], line: 2, "unknown record type")
        try expectMalformed([h, good.replacingOccurrences(of: "\"seq\":1", with: "\"seq\":99999999999999999999")], line: 2, "out of range")
        try expectMalformed([h, good.replacingOccurrences(of: "\"actor\":\"", with: "\"actor\":\"\u{1}")], line: 2, "control character")
        try expectMalformed([h, good.replacingOccurrences(of: "\"actor\":\"", with: "\"actor\":\"\\ud800")], line: 2, "surrogate")
        try expectMalformed([h, good, cp.replacingOccurrences(of: "\"signature\":\"", with: "\"signature\":\"!")], line: 3, "base64")
        try expectMalformed([h, good + " x"], line: 2, "after the object")
        try expectMalformed(["{\"type\":\"entry\"}"], line: 1, "not the header")
        // Invalid UTF-8.
        let dir = TemporaryDirectory()
        var bytes = Array((h + "\n" + good.replacingOccurrences(of: "partner:", with: "par#ner:") + "\n").utf8)
        if let i = bytes.firstIndex(of: UInt8(ascii: "#")) { bytes[i] = 0xFF }
        let path = try dir.write("utf8.jsonl", Data(bytes))
        #expect { try readAll(path) } throws: { ($0 as? AuditError)?.message.contains("UTF-8") == true }
    }

    @Test func unreadableOrForeignFilesAreClearErrors() throws {
        let dir = TemporaryDirectory()
        #expect { try AuditExportReader(path: dir.file("missing.jsonl")) } throws: { ($0 as? AuditError)?.code == .io }
        let empty = try dir.write("empty.jsonl", "")
        #expect { try AuditExportReader(path: empty) } throws: { ($0 as? AuditError)?.message.contains("is empty") == true }
        let v2 = try dir.write("v2.jsonl", "{\"type\":\"claimgate-audit-export\",\"version\":2}\n")
        #expect { try AuditExportReader(path: v2) } throws: { ($0 as? AuditError)?.code == .unsupportedVersion }
        let long = try dir.write("long.jsonl", AuditExport.line(for: header) + "\n" + String(repeating: " ", count: 1 << 21) + "\n")
        #expect { try readAll(long) } throws: {
            ($0 as? AuditError)?.message.hasPrefix("Line 2 of \(long) is longer than") == true
        }
    }

    // MARK: Independent implementations

    /// The Python reference verifier in docs/audit-format.md reaches the same verdict, at the same entry.
    @Test(.enabled(if: Self.hasPython3)) func pythonReferenceVerifierAgrees() throws {
        let dir = TemporaryDirectory()
        let script = try dir.write("audit_verify.py", try Self.pythonBlock("# audit_verify.py"))

        var cases: [(String, SampleLog)] = [("intact", log)]
        var edited = log; edited.entries[19].claimID = "CLM-0000"; cases.append(("edited", edited))
        var deleted = log; deleted.entries.remove(at: 19); cases.append(("deleted", deleted))
        var swapped = log; swapped.entries.swapAt(9, 10); cases.append(("swapped", swapped))
        var duplicate = log
        var forged = SampleLog.content(99)
        forged.sequence = 21; forged.previousHash = log.entries[19].hash; forged.hash = forged.computeHash()
        duplicate.entries.insert(forged, at: 20); cases.append(("duplicate", duplicate))
        var relinked = log
        for i in 20..<relinked.entries.count { relinked.entries[i].sequence += 1; relinked.entries[i].hash = relinked.entries[i].computeHash() }
        relinked.entries.insert(forged, at: 20); cases.append(("relinked", relinked))
        var rewritten = log; rewritten.entries[32].reason = "rewritten"; rewritten.rehash(from: 32); cases.append(("rewritten", rewritten))

        for (name, sample) in cases {
            let path = try export(sample.records, to: dir, name: name + ".jsonl")
            let swift = try AuditVerifier.verify(exportAt: path, keys: [log.key.publicKey])
            let python = try Shell.run(["python3", script, path])
            if let problem = swift.problem {
                #expect(!python.succeeded, "\(name): python accepted what Swift rejects: \(problem)")
                #expect(python.stderr.hasPrefix("entry \(problem.sequence!):"), "\(name): \(problem) vs \(python.stderr)")
            } else {
                #expect(python.succeeded && python.stdout.hasPrefix("chain intact: \(swift.entryCount) entries"),
                        "\(name): \(python.stdout) \(python.stderr)")
            }
        }
    }

    /// The doc's checkpoint snippet and stock openssl verify the last checkpoint of an export.
    @Test(.enabled(if: Self.hasPython3)) func openSSLVerifiesCheckpointFromTheDoc() throws {
        let dir = TemporaryDirectory()
        let path = try export(log.records, to: dir)
        let script = try dir.write("checkpoint_message.py", try Self.pythonBlock("# checkpoint_message.py"))
        let pub = try dir.write("audit-signing.pub.pem", log.key.publicKey.pem)
        let out = try Shell.run(["python3", script, path], directory: dir.path)
        #expect(out.succeeded, "\(out.stderr)")
        #expect(out.stdout.contains("checkpoint for entry 45, key id \(log.key.publicKey.keyID)"))
        let id = try Shell.bash("openssl pkey -pubin -in '\(pub)' -outform DER | sha256sum | cut -d' ' -f1")
        #expect(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == log.key.publicKey.keyID)
        let verify = try Shell.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                                    "-in", "checkpoint.msg", "-sigfile", "checkpoint.sig"], directory: dir.path)
        #expect(verify.succeeded && verify.stdout.contains("Signature Verified Successfully"), "\(verify.stdout) \(verify.stderr)")
        let msg = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("checkpoint.msg"))))
        #expect(msg == log.checkpoints.last!.signedMessage)
    }

    // MARK: Helpers

    static var hasPython3: Bool {
        (try? Shell.run(["python3", "--version"]).succeeded) ?? false
    }

    static func document() throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/audit-format.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The ```python block of the doc whose first line is `firstLine`.
    static func pythonBlock(_ firstLine: String) throws -> String {
        let doc = try document()
        let start = try #require(doc.range(of: "```python\n" + firstLine))
        let body = doc[doc.index(start.lowerBound, offsetBy: 10)...]
        let end = try #require(body.range(of: "\n```\n"))
        return String(body[..<end.lowerBound]) + "\n"
    }
}

enum TransferEventFixture {
    static func download(bundle: BundleID) -> TransferEvent {
        TransferEvent(time: Date(timeIntervalSince1970: 1_795_309_323.456_7), actor: .partner(try! PartnerID("acme-insurance")),
                      action: .download, outcome: .partial, partnerID: try! PartnerID("acme-insurance"),
                      bundleID: bundle, bytes: 10, transport: .sftp, clientAddress: "127.0.0.1")
    }
}
