import ClaimGateTesting
import Foundation
import Testing

/// The `claimgate` binary against real peers: the stock `openssl` command and `tar`.
@Suite(.serialized) struct CLIEndToEndTests {
    /// A gateway home and a dev PKI made by the binary itself, with both sample partners onboarded.
    final class Setup: @unchecked Sendable {
        let dir = TemporaryDirectory("claimgate-e2e")
        var home: String { dir.path + "/home" }
        var pki: String { dir.path + "/pki" }
        var trust: String { dir.path + "/gateway.pem" }

        init() throws {
            try Self.ok(ClaimgateBinary.run(["dev-pki", "--out", dir.path + "/pki"]))
            try Self.ok(ClaimgateBinary.run(["init", "--home", dir.path + "/home", "--gateway-id", "e2e-gateway"]))
            let pem = try ClaimgateBinary.run(["identity", "--pem", "--home", dir.path + "/home"])
            try Self.ok(pem)
            try dir.write("gateway.pem", pem.stdout)
            for (id, extra) in [("acme-assessors", "ssh:\n  authorized_keys_file: \(dir.path)/pki/acme-assessors/ssh_ed25519.pub\n"),
                                ("st-marys-hospital", "")] {
                let yaml = """
                id: \(id)
                name: \(id)
                role: \(id == "acme-assessors" ? "assessor" : "institution")
                agreement:
                  reference: DSA-E2E
                  purposes: [claim-assessment]
                  document_types: [application/pdf, image/png, text/plain]
                  max_retention_days: 30
                  valid_until: 2099-12-31
                certificates:
                  encryption: \(dir.path)/pki/\(id)/encryption.pem
                  trust_anchor: \(dir.path)/pki/\(id)/ca.pem
                \(extra)masking: [claimant.phone]
                """
                let file = try dir.write("\(id).yaml", yaml)
                try Self.ok(ClaimgateBinary.run(["partner", "add", file, "--home", dir.path + "/home"]))
            }
        }

        static func ok(_ r: Shell.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try #require(r.succeeded, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        }

        func seal(_ partner: String, _ docs: [String], out: String, extra: [String] = []) throws -> Shell.Result {
            try ClaimgateBinary.run(["seal", "--home", home, "--partner", partner, "--claim", "CLM-7", "--purpose", "claim-assessment",
                                     "--ttl", "7d", "--out", out, "--json", "--meta", "claimant.phone=+41 79 000 00 00"] + extra + docs)
        }
    }

    static let setup = Result { try Setup() }

    func setup() throws -> Setup { try Self.setup.get() }

    @Test(arguments: ["acme-assessors", "st-marys-hospital"])
    func sealedBundleOpensWithClaimgateAndWithStockOpenSSL(_ partner: String) throws {
        let s = try setup()
        let work = TemporaryDirectory("claimgate-e2e-\(partner)")
        let report = try work.write("docs/report.pdf", Data("%PDF-1.5\n".utf8) + Data((0..<500_000).map { UInt8($0 % 251) }))
        let notes = try work.write("docs/notes.txt", "Water damage in the kitchen.\n")
        let bundle = work.path + "/bundle.p7m"
        let sealed = try s.seal(partner, [report, notes], out: bundle)
        try Setup.ok(sealed)
        let json = try #require(try JSONSerialization.jsonObject(with: sealed.stdoutData) as? [String: Any])
        let id = try #require(json["id"] as? String)

        // claimgate open, as the partner.
        let opened = try ClaimgateBinary.run(["open", bundle, "--cert", "\(s.pki)/\(partner)/encryption.pem",
                                              "--key", "\(s.pki)/\(partner)/encryption.key", "--trust", s.trust,
                                              "--out", work.path + "/opened", "--json"])
        try Setup.ok(opened)
        #expect(opened.stdout.contains(id))
        #expect(FileManager.default.contents(atPath: work.path + "/opened/documents/report.pdf") == FileManager.default.contents(atPath: report))

        // Exactly the stock pipeline from docs/bundle-format.md.
        try FileManager.default.createDirectory(atPath: work.path + "/stock", withIntermediateDirectories: true)
        let stock = try Shell.bash("""
            openssl cms -decrypt -binary -inform DER -in '\(bundle)' -recip '\(s.pki)/\(partner)/encryption.pem' -inkey '\(s.pki)/\(partner)/encryption.key' \
            | openssl cms -verify -binary -inform DER -CAfile '\(s.trust)' -purpose any | tar -x
            """, directory: work.path + "/stock")
        try Setup.ok(stock)
        #expect(work.listing("stock") == ["documents", "documents/notes.txt", "documents/report.pdf", "manifest.json"])
        #expect(FileManager.default.contents(atPath: work.path + "/stock/documents/report.pdf") == FileManager.default.contents(atPath: report))
        let manifest = try String(contentsOfFile: work.path + "/stock/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"bundle_id\" : \"\(id)\""))
        #expect(manifest.contains("\"claimant.phone\" : \"[masked]\""))
        #expect(!manifest.contains("+41 79"))
        let fingerprint = try Shell.bash("openssl x509 -in '\(s.pki)/\(partner)/encryption.pem' -outform DER | sha256sum | cut -d' ' -f1")
        #expect(manifest.contains(fingerprint.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        // The bundle is recorded.
        let show = try ClaimgateBinary.run(["bundle", "show", id, "--home", s.home, "--json"])
        try Setup.ok(show)
        #expect(show.stdout.contains("\"state\" : \"sealed\""))
        #expect(show.stdout.contains("\"action\" : \"seal\""))
    }

    @Test func aNonASCIIDocumentNameSealsAndOpensWhateverTheLocale() throws {
        // Document names are UTF-8; the process locale (often plain "C" on servers) must not matter.
        let s = try setup()
        let work = TemporaryDirectory("claimgate-e2e-utf8")
        let doc = try work.write("Überweisung März.pdf", "%PDF-1.4\nZahlung\n")
        let bundle = work.path + "/bundle.p7m"
        let ascii = ["LC_ALL": "C", "LANG": "C"]
        let sealed = try ClaimgateBinary.run(["seal", "--home", s.home, "--partner", "st-marys-hospital", "--claim", "CLM-8",
                                              "--purpose", "claim-assessment", "--ttl", "7d", "--out", bundle, doc], environment: ascii)
        try Setup.ok(sealed)
        let opened = try ClaimgateBinary.run(["open", bundle, "--cert", "\(s.pki)/st-marys-hospital/encryption.pem",
                                              "--key", "\(s.pki)/st-marys-hospital/encryption.key", "--trust", s.trust,
                                              "--out", work.path + "/opened"], environment: ascii)
        try Setup.ok(opened)
        #expect(FileManager.default.contents(atPath: work.path + "/opened/documents/Überweisung März.pdf") == FileManager.default.contents(atPath: doc))
        // Stock tar (in a UTF-8 locale) sees the same name.
        try FileManager.default.createDirectory(atPath: work.path + "/stock", withIntermediateDirectories: true)
        try Setup.ok(try Shell.bash("""
            openssl cms -decrypt -binary -inform DER -in '\(bundle)' -recip '\(s.pki)/st-marys-hospital/encryption.pem' -inkey '\(s.pki)/st-marys-hospital/encryption.key' \
            | openssl cms -verify -binary -inform DER -CAfile '\(s.trust)' -purpose any | LC_ALL=C.UTF-8 tar -x
            """, directory: work.path + "/stock"))
        #expect(FileManager.default.contents(atPath: work.path + "/stock/documents/Überweisung März.pdf") == FileManager.default.contents(atPath: doc))
    }

    @Test func cmsStructureIsTheDocumentedProfile() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        for (partner, keyTransport) in [("acme-assessors", "rsaesOaep"), ("st-marys-hospital", "dhSinglePass-stdDH-sha256kdf-scheme")] {
            let bundle = work.path + "/\(partner).p7m"
            try Setup.ok(try s.seal(partner, [try work.write("a.pdf", "%PDF-1.4\n")], out: bundle))
            let printed = try Shell.run(["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", bundle])
            try Setup.ok(printed)
            #expect(printed.stdout.contains("id-smime-ct-authEnvelopedData"))
            #expect(printed.stdout.contains("aes-256-gcm"))
            #expect(printed.stdout.contains(keyTransport))
            #expect(printed.stdout.contains("pkcs7-signedData"))
        }
    }

    /// A partner that re-encrypts a bundle to someone else cannot make it look addressed to them:
    /// the signed manifest still names the original recipient.
    @Test func surreptitiousForwardingIsRefused() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let bundle = work.path + "/for-acme.p7m"
        try Setup.ok(try s.seal("acme-assessors", [try work.write("a.pdf", "%PDF-1.4\nsecret\n")], out: bundle))
        // acme decrypts (the signed content stays intact) and re-seals the SignedData to st-marys.
        let forwarded = work.path + "/forwarded.p7m"
        try Setup.ok(try Shell.bash("""
            openssl cms -decrypt -binary -inform DER -in '\(bundle)' -recip '\(s.pki)/acme-assessors/encryption.pem' \
              -inkey '\(s.pki)/acme-assessors/encryption.key' -out '\(work.path)/signed.der' &&
            openssl cms -encrypt -binary -aes-256-gcm -outform DER -in '\(work.path)/signed.der' -out '\(forwarded)' \
              -recip '\(s.pki)/st-marys-hospital/encryption.pem' -keyopt ecdh_kdf_md:sha256
            """))
        let r = try ClaimgateBinary.run(["open", forwarded, "--cert", "\(s.pki)/st-marys-hospital/encryption.pem",
                                         "--key", "\(s.pki)/st-marys-hospital/encryption.key", "--trust", s.trust,
                                         "--out", work.path + "/out"])
        #expect(r.status == 65)
        #expect(r.stderr.contains("names another recipient"))
        #expect(!FileManager.default.fileExists(atPath: work.path + "/out"))
    }

    @Test func aFlippedByteIsRefusedByClaimgateAndByStockOpenSSL() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let bundle = work.path + "/b.p7m"
        try Setup.ok(try s.seal("acme-assessors", [try work.write("a.pdf", "%PDF-1.4\n" + String(repeating: "x", count: 100_000))], out: bundle))
        var data = try Data(contentsOf: URL(fileURLWithPath: bundle))
        data[data.count / 2] ^= 0x80
        try data.write(to: URL(fileURLWithPath: bundle))
        let r = try ClaimgateBinary.run(["open", bundle, "--cert", "\(s.pki)/acme-assessors/encryption.pem",
                                         "--key", "\(s.pki)/acme-assessors/encryption.key", "--trust", s.trust, "--out", work.path + "/out"])
        #expect(r.status == 65)
        #expect(r.stderr.hasPrefix("error: "))
        #expect(!FileManager.default.fileExists(atPath: work.path + "/out"))
        let stock = try Shell.run(["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", bundle,
                                   "-recip", "\(s.pki)/acme-assessors/encryption.pem", "-inkey", "\(s.pki)/acme-assessors/encryption.key",
                                   "-out", work.path + "/x"])
        #expect(!stock.succeeded, "GCM must reject the altered ciphertext")
    }

    @Test func refusedSealExitsNonZeroWithAReasonAndLeavesNoFile() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let out = work.path + "/refused.p7m"
        let exe = try work.write("invoice.pdf", Data([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0]))
        let r = try s.seal("acme-assessors", [exe], out: out)
        #expect(r.status == 65)
        #expect(r.stderr.contains("invoice.pdf"))
        #expect(r.stderr.contains("application/octet-stream"))
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(work.listing() == ["invoice.pdf"])

        let purpose = try ClaimgateBinary.run(["send", "--home", s.home, "--partner", "acme-assessors", "--claim", "CLM-7",
                                               "--purpose", "marketing", "--ttl", "1d", try work.write("a.pdf", "%PDF-1.4\n")])
        #expect(purpose.status == 65)
        #expect(purpose.stderr.contains("claim-assessment"))
    }

    @Test func sendQueuesInTheOutboxAndListsIt() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let r = try ClaimgateBinary.run(["send", "--home", s.home, "--partner", "st-marys-hospital", "--claim", "CLM-9",
                                         "--purpose", "claim-assessment", "--expires", "2099-01-01", "--json",
                                         try work.write("scan.pdf", "%PDF-1.4\n")])
        // 2099 is past the 30-day retention: refused.
        #expect(r.status == 65)
        #expect(r.stderr.contains("retention"))
        let ok = try ClaimgateBinary.run(["send", "--home", s.home, "--partner", "st-marys-hospital", "--claim", "CLM-9",
                                          "--purpose", "claim-assessment", "--ttl", "2d", try work.write("scan2.pdf", "%PDF-1.4\n")])
        try Setup.ok(ok)
        let id = ok.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: "\(s.home)/outbox/st-marys-hospital/\(id).p7m"))
        let list = try ClaimgateBinary.run(["bundle", "list", "--home", s.home, "--partner", "st-marys-hospital", "--json"])
        try Setup.ok(list)
        #expect(list.stdout.contains(id))
        #expect(list.stdout.contains("\"state\" : \"queued\""))
    }

    @Test func cliErrorsAreOneClearSentence() throws {
        let work = TemporaryDirectory()
        let r = try ClaimgateBinary.run(["partner", "list", "--home", work.path + "/none"])
        #expect(r.status == 78)
        #expect(r.stderr == "error: No gateway at \(work.path)/none: run `claimgate init --home \(work.path)/none` first, or pass the right --home.\n")
        let s = try setup()
        let missing = try ClaimgateBinary.run(["partner", "show", "nobody", "--home", s.home])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("claimgate partner list"))
        let usage = try ClaimgateBinary.run(["seal", "--home", s.home, "--partner", "x", "--claim", "c", "--purpose", "p", "--out", "o", "a.pdf"])
        #expect(usage.status != 0)
        #expect(usage.stderr.contains("--expires") && usage.stderr.contains("--ttl"))
        let list = try ClaimgateBinary.run(["partner", "list", "--home", s.home, "--json"])
        try Setup.ok(list)
        #expect(list.stdout.contains("\"id\" : \"acme-assessors\""))
        for command in [["--help"], ["seal", "--help"], ["open", "--help"], ["partner", "add", "--help"], ["bundle", "show", "--help"]] {
            #expect(try ClaimgateBinary.run(command).succeeded, "\(command)")
        }
    }

    @Test func homeComesFromTheEnvironmentWhenNoOptionIsGiven() throws {
        let work = TemporaryDirectory()
        try Setup.ok(try ClaimgateBinary.run(["init"], environment: ["CLAIMGATE_HOME": work.path + "/env-home"]))
        #expect(FileManager.default.fileExists(atPath: work.path + "/env-home/claimgate.sqlite"))
        let host = try ClaimgateBinary.run(["identity", "--ssh-host"], environment: ["CLAIMGATE_HOME": work.path + "/env-home"])
        try Setup.ok(host)
        #expect(host.stdout.hasPrefix("ssh-ed25519 AAAA"))
        let keygen = try Shell.bash("ssh-keygen -lf '\(work.path)/env-home/identity/ssh_host_ed25519.pub'")
        if keygen.succeeded { #expect(keygen.stdout.contains("ED25519")) }
        // Private keys are owner-only.
        let attrs = try FileManager.default.attributesOfItem(atPath: work.path + "/env-home/identity/signing.key")
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        // Default: ./.claimgate in the working directory.
        try Setup.ok(try ClaimgateBinary.run(["init"], directory: work.path))
        #expect(FileManager.default.fileExists(atPath: work.path + "/.claimgate/claimgate.sqlite"))
        let again = try ClaimgateBinary.run(["init"], directory: work.path)
        #expect(again.status == 73)
    }

    @Test func demoRunsTheMainJob() throws {
        let work = TemporaryDirectory()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        // The shipped agreements point at ../certs/dev: lay the folders out as in the repository.
        try FileManager.default.createDirectory(atPath: work.path + "/repo/certs", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repo + "/partners", toPath: work.path + "/repo/partners")
        let demo = try ClaimgateBinary.run(["demo"], directory: work.path + "/repo")
        try Setup.ok(demo)
        #expect(demo.stdout.contains("refused: Purpose 'marketing'"))
        #expect(demo.stdout.contains("acme-assessors opened 3 documents"))
        #expect(demo.stdout.contains("st-marys-hospital opened 2 documents"))
        #expect(demo.stdout.contains("acme-assessors pulled"), "SFTP pull leg: \(demo.stdout)")
        #expect(demo.stdout.contains("delivered") || demo.stdout.contains("push leg is skipped"))
        #expect(demo.stdout.contains("st-marys-hospital listed its bundles, downloaded"), "HTTPS leg: \(demo.stdout)")
        // Runs again on the same folder.
        try Setup.ok(try ClaimgateBinary.run(["demo"], directory: work.path + "/repo"))
    }

    /// `demo --pki DIR` with the sample agreements, which name ../certs/dev: the demo points them
    /// at DIR instead of failing on certificates that are not there (or using stale ones).
    @Test func demoRunsWithAPKIFolderOfItsOwn() throws {
        let work = TemporaryDirectory()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let demo = try ClaimgateBinary.run(["demo", "--pki", work.path + "/my-pki", "--home", work.path + "/demo-home",
                                            "--partners", repo + "/partners"], directory: work.path)
        try Setup.ok(demo)
        #expect(FileManager.default.fileExists(atPath: work.path + "/my-pki/acme-assessors/encryption.pem"))
        #expect(demo.stdout.contains("acme-assessors opened 3 documents"), "\(demo.stdout)")
        #expect(demo.stdout.contains("st-marys-hospital opened 2 documents"))
    }
}

extension CLIEndToEndTests {
    /// Only the gateway's signing certificate may sign bundles: one signed with the TLS key of the
    /// same gateway CA, with a manifest naming that certificate as sender, is refused.
    @Test func aBundleSignedWithTheGatewayTLSKeyIsRefused() throws {
        let s = try setup()
        let work = TemporaryDirectory()
        let bundle = work.path + "/b.p7m"
        try Setup.ok(try s.seal("acme-assessors", [try work.write("a.pdf", "%PDF-1.4\n")], out: bundle))
        let pki = s.pki, home = s.home, w = work.path
        let forged = try Shell.bash("""
            set -e
            mkdir '\(w)/x' && cd '\(w)/x'
            openssl cms -decrypt -binary -inform DER -in '\(bundle)' -recip '\(pki)/acme-assessors/encryption.pem' \
              -inkey '\(pki)/acme-assessors/encryption.key' | openssl cms -verify -binary -inform DER -noverify | tar -x
            tls=$(openssl x509 -in '\(home)/identity/tls.pem' -outform DER | sha256sum | cut -d' ' -f1)
            sed -i "s/\\"signing_certificate_sha256\\" : \\"[0-9a-f]*\\"/\\"signing_certificate_sha256\\" : \\"$tls\\"/" manifest.json
            tar --format=pax -cf ../forged.tar documents manifest.json
            openssl cms -sign -binary -nodetach -md sha256 -signer '\(home)/identity/tls.pem' -inkey '\(home)/identity/tls.key' \
              -in ../forged.tar -outform DER -out ../signed.der
            openssl cms -encrypt -binary -aes-256-gcm -outform DER -in ../signed.der -out ../forged.p7m \
              -recip '\(pki)/acme-assessors/encryption.pem' -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256
            """)
        try Setup.ok(forged)
        let r = try ClaimgateBinary.run(["open", w + "/forged.p7m", "--cert", "\(pki)/acme-assessors/encryption.pem",
                                         "--key", "\(pki)/acme-assessors/encryption.key", "--trust", s.trust, "--out", w + "/out"])
        #expect(r.status == 65)
        #expect(r.stderr.contains("not meant for signing"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w + "/out"))
        // The stricter stock check from docs/bundle-format.md refuses it too, and accepts the real bundle.
        let strict = "openssl cms -verify -binary -inform DER -CAfile '\(s.trust)' -purpose smimesign -out /dev/null"
        #expect(!(try Shell.bash("\(strict) -in '\(w)/signed.der'")).succeeded)
        let real = try Shell.bash("""
            openssl cms -decrypt -binary -inform DER -in '\(bundle)' -recip '\(pki)/acme-assessors/encryption.pem' \
              -inkey '\(pki)/acme-assessors/encryption.key' -out '\(w)/real.der' && \(strict) -in '\(w)/real.der'
            """)
        #expect(real.succeeded, "\(real.stderr)")
    }
}
