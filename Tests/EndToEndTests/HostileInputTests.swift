import ClaimGateTesting
import Foundation
import Testing

/// Bad input at the command line, as an attacker or a hurried operator gives it: each is refused
/// at once with a clear sentence and the documented exit status, or made harmless.
@Suite(.serialized) struct HostileInputTests {
    typealias Setup = CLIEndToEndTests.Setup
    static let setup = Result { try Setup() }
    func setup() throws -> Setup { try Self.setup.get() }

    func send(_ s: Setup, _ extra: [String], partner: String = "st-marys-hospital", timeout: Int = 60) throws -> Shell.Result {
        try Shell.run(["timeout", "\(timeout)", ClaimgateBinary.path, "send", "--home", s.home, "--partner", partner,
                       "--claim", "CLM-HOSTILE", "--purpose", "claim-assessment"] + extra)
    }

    func storedManifest(_ s: Setup, _ id: String) throws -> String {
        let r = try Shell.run(["sqlite3", s.home + "/claimgate.sqlite", "SELECT CAST(manifest_json AS TEXT) FROM bundle WHERE id = '\(id)'"])
        try Setup.ok(r)
        return r.stdout
    }

    @Test func aMaskedKeyInAnotherCaseOrFormIsMaskedAndTwoSpellingsAreRefused() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let doc = try work.write("a.pdf", "%PDF-1.4\n")
        // The agreement masks claimant.phone.
        let r = try send(s, ["--ttl", "1d", "--meta", "Claimant.PHONE=+41 79 555 12 12", "--meta", "ｃｌａｉｍａｎｔ．ｐｈｏｎｅ2=x", doc])
        try Setup.ok(r)
        let manifest = try storedManifest(s, r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        // The phone number itself (not "555" alone, which a random certificate digest may hold).
        #expect(!manifest.contains("79 555 12 12"), "\(manifest)")
        #expect(manifest.contains("[masked]"))

        let both = try send(s, ["--ttl", "1d", "--meta", "claimant.phone=1", "--meta", "CLAIMANT.phone=2", doc])
        #expect(both.status == 64)
        #expect(both.stderr.contains("same name"), "\(both.stderr)")
        let hidden = try send(s, ["--ttl", "1d", "--meta", "claimant.ph\u{200B}one=+41 79 555 12 12", doc])
        #expect(hidden.status == 64)
        let twice = try send(s, ["--ttl", "1d", "--meta", "loss=1", "--meta", "loss=2", doc])
        #expect(twice.status == 64)
    }

    @Test func aDocumentThatIsNotARegularFileIsRefusedAtOnce() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let fifo = work.path + "/scan.pdf"
        #expect(mkfifo(fifo, 0o600) == 0)
        let pipe = try send(s, ["--ttl", "1d", fifo], timeout: 30)
        #expect(pipe.status == 66, "exit \(pipe.status) (124: it hung): \(pipe.stderr)")
        #expect(pipe.stderr.contains("named pipe"))
        let device = try send(s, ["--ttl", "1d", "/dev/zero"], timeout: 30)
        #expect(device.status == 66)
        #expect(device.stderr.contains("device"))
        let folder = try send(s, ["--ttl", "1d", work.path], timeout: 30)
        #expect(folder.status == 66)
        #expect(folder.stderr.contains("folder"))
    }

    @Test func anInputFileThatCannotBeReadExits66Everywhere() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let missing = work.path + "/missing.pdf"
        let doc = try send(s, ["--ttl", "1d", missing])
        #expect(doc.status == 66, "\(doc.stderr)")
        #expect(doc.stderr.contains("does not exist"))
        let agreement = try ClaimgateBinary.run(["partner", "add", work.path + "/missing.yaml", "--home", s.home])
        #expect(agreement.status == 66, "\(agreement.stderr)")
        let open = try ClaimgateBinary.run(["open", work.path + "/missing.p7m", "--cert", s.pki + "/acme-assessors/encryption.pem",
                                            "--key", s.pki + "/acme-assessors/encryption.key", "--trust", s.trust, "--out", work.path + "/o"])
        #expect(open.status == 66, "\(open.stderr)")
        let cert = try ClaimgateBinary.run(["open", work.path + "/missing.p7m", "--cert", work.path + "/none.pem",
                                            "--key", s.pki + "/acme-assessors/encryption.key", "--trust", s.trust, "--out", work.path + "/o"])
        #expect(cert.status == 66, "\(cert.stderr)")
    }

    @Test(arguments: ["2030-01-01T25:00:00Z", "2030-01-01T00:61:00Z", "2016-12-31T23:59:60Z", "2030-02-30"])
    func impossibleExpiryTimesAreRefused(_ expires: String) throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let r = try send(s, ["--expires", expires, try work.write("a.pdf", "%PDF-1.4\n")])
        #expect(r.status == 64, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("--expires"))
    }

    func agreement(_ s: Setup, id: String = "hostile-partner", encryption: String, anchor: String? = nil, padding: Int = 0) -> String {
        """
        id: \(id)
        name: Hostile
        role: assessor
        agreement:
          reference: DSA-HOSTILE
          purposes: [claim-assessment]
          document_types: [application/pdf]
          max_retention_days: 30
          valid_until: 2099-12-31
        certificates:
          encryption: \(encryption)
          trust_anchor: \(anchor ?? s.pki + "/acme-assessors/ca.pem")
        \(padding > 0 ? "# " + String(repeating: "x", count: padding) : "")
        """
    }

    @Test func agreementFilesOver1MiBAreRefused() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let big = try work.write("big.yaml", agreement(s, encryption: s.pki + "/acme-assessors/encryption.pem", padding: 1 << 20))
        let r = try ClaimgateBinary.run(["partner", "add", big, "--home", s.home])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("KiB"))
    }

    @Test func certificateFilesHoldingMoreThanTheirChainAreRefused() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let enc = try String(contentsOfFile: s.pki + "/acme-assessors/encryption.pem", encoding: .utf8)
        let key = try String(contentsOfFile: s.pki + "/acme-assessors/encryption.key", encoding: .utf8)
        let otherCA = try String(contentsOfFile: s.pki + "/st-marys-hospital/ca.pem", encoding: .utf8)
        let ownCA = try String(contentsOfFile: s.pki + "/acme-assessors/ca.pem", encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("with-key.pem", enc + key, "private key"),
            ("bom-key.pem", "\u{FEFF}" + key + enc, "private key"),
            ("inline-key.pem", enc + "key: " + key, "private key"),
            ("encrypted-key.pem", enc + key.replacingOccurrences(of: "PRIVATE KEY", with: "ENCRYPTED PRIVATE KEY"), "private key"),
            ("twice.pem", enc + enc, "twice"),
            ("unrelated.pem", enc + otherCA, "did not issue"),
        ]
        for (name, pem, expected) in cases {
            let file = try work.write(name, pem)
            let r = try ClaimgateBinary.run(["partner", "add", try work.write("\(name).yaml", agreement(s, encryption: file)), "--home", s.home])
            #expect(r.status == 64, "\(name): \(r.stderr)")
            #expect(r.stderr.contains(expected), "\(name): \(r.stderr)")
        }
        let anchors = try work.write("anchors.pem", ownCA + ownCA)
        let r = try ClaimgateBinary.run(["partner", "add", try work.write("anchors.yaml", agreement(s, encryption: s.pki + "/acme-assessors/encryption.pem", anchor: anchors)), "--home", s.home])
        #expect(r.status == 64)
        #expect(r.stderr.contains("twice"), "\(r.stderr)")
        // The certificate followed by its issuer is a chain, and is accepted.
        let chain = try work.write("chain.pem", enc + ownCA)
        try Setup.ok(try ClaimgateBinary.run(["partner", "add", try work.write("chain.yaml", agreement(s, id: "chain-partner", encryption: chain)), "--home", s.home]))
    }

    @Test func aPartnerIDStartingWithADashIsRefused() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let r = try ClaimgateBinary.run(["partner", "add", try work.write("dash.yaml", agreement(s, id: "-dash", encryption: s.pki + "/acme-assessors/encryption.pem")), "--home", s.home])
        #expect(r.status == 64)
        #expect(r.stderr.contains("starting with a letter or digit"), "\(r.stderr)")
    }

    @Test func sendJSONHasOneShapeWhetherOrNotAPushHappened() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let r = try send(s, ["--ttl", "1d", "--json", try work.write("a.pdf", "%PDF-1.4\n")])
        try Setup.ok(r)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["bundle", "delivery"])
        #expect(json["delivery"] is NSNull)
        #expect((json["bundle"] as? [String: Any])?["id"] is String)
    }

    @Test func purgeScrubsTheStoredManifestOfMetadataValues() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let r = try send(s, ["--ttl", "1d", "--meta", "loss.place=Bahnhofstrasse 12 Zurich", try work.write("a.pdf", "%PDF-1.4\n")])
        try Setup.ok(r)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try storedManifest(s, id).contains("Bahnhofstrasse"))
        try Setup.ok(try ClaimgateBinary.run(["bundle", "recall", id, "--reason", "INC-1", "--home", s.home]))
        try Setup.ok(try ClaimgateBinary.run(["purge", "--home", s.home]))
        let after = try storedManifest(s, id)
        #expect(!after.contains("Bahnhofstrasse"), "\(after)")
        #expect(after.contains("[purged]"))
        #expect(after.contains(id))   // ids, digests, purpose and dates stay
        #expect(after.contains("claim-assessment"))
        #expect(after.contains("sha256"))
        let show = try ClaimgateBinary.run(["bundle", "show", id, "--json", "--home", s.home])
        try Setup.ok(show)
        #expect(show.stdout.contains("\"state\" : \"purged\""))
        #expect(try ClaimgateBinary.run(["audit", "verify", "--home", s.home]).status == 0)
    }
}
