import ClaimGateTesting
import Foundation
import Testing

/// `claimgate serve` against other SFTP peers than a single stock `sftp`: paramiko (Python),
/// 64 stock `sftp` clients at once, and partners whose access is refused or ends mid-session.
/// Every test gets a fresh gateway and its own `serve` on a free 127.0.0.1 port.
@Suite(.serialized) struct SFTPPeerTests {
    final class Gateway: @unchecked Sendable {
        let dir = TemporaryDirectory("claimgate-peer")
        var home: String { dir.path + "/home" }
        var pki: String { dir.path + "/pki" }
        var known: String { dir.path + "/known_hosts" }
        var database: String { home + "/claimgate.sqlite" }
        var hostKeyFile: String { home + "/identity/ssh_host_ed25519.pub" }
        /// One available bundle per partner.
        var bundles: [String: String] = [:]
        var server: ServerProcess!
        var port = ""

        /// - Parameter documentBytes: roughly the size of the shared document (and so of each bundle).
        init(documentBytes: Int = 300_000) throws {
            try ok(ClaimgateBinary.run(["dev-pki", "--out", pki]))
            try ok(ClaimgateBinary.run(["init", "--home", home]))
            for id in ["acme-assessors", "st-marys-hospital"] {
                let yaml = Fixtures.sftpPullAgreement(id: id, pki: pki, reference: "DSA-PEERS")
                try ok(ClaimgateBinary.run(["partner", "add", try dir.write("\(id).yaml", yaml), "--home", home]))
            }
            // Random content, so the bundle's size is the document's whatever the packaging does.
            var random = [UInt8](repeating: 0, count: documentBytes * 3 / 4)
            for i in random.indices { random[i] = UInt8.random(in: 0...255) }
            let doc = try dir.write("report.pdf", "%PDF-1.4\n" + Data(random).base64EncodedString(options: .lineLength76Characters))
            for partner in ["acme-assessors", "st-marys-hospital"] {
                let r = try ClaimgateBinary.run(["send", "--home", home, "--partner", partner, "--claim", "CLM-PEER",
                                                 "--purpose", "claim-assessment", "--ttl", "2d", doc])
                try ok(r)
                bundles[partner] = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            server = try ServerProcess([ClaimgateBinary.path, "serve", "--home", home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
                                       logPath: dir.path + "/serve.log")
            port = try server.waitFor("sftp: listening on 127\\.0\\.0\\.1:([0-9]+)")
            let hostKey = try String(contentsOfFile: hostKeyFile, encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            try dir.write("known_hosts", "[127.0.0.1]:\(port) \(hostKey)\n")
        }

        deinit { server?.stop() }

        func ok(_ r: Shell.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try #require(r.succeeded, "exit \(r.status): \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
        }

        func key(_ partner: String) -> String { "\(pki)/\(partner)/ssh_ed25519" }

        /// The file the gateway serves for `partner`'s bundle.
        func outboxFile(_ partner: String) -> String { "\(home)/outbox/\(partner)/\(bundles[partner]!).p7m" }

        /// Arguments for stock `sftp -b BATCHFILE` as `user` with `key` (see shared/PEERS.md).
        func sftpArguments(batchFile: String, user: String, key: String) -> [String] {
            ["-b", batchFile, "-P", port, "-i", key, "-o", "UserKnownHostsFile=\(known)", "-o", "StrictHostKeyChecking=yes",
             "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "\(user)@127.0.0.1"]
        }

        /// Runs stock `sftp -b` as `user` with `key` (the partner's own by default).
        func sftp(_ batch: String, user: String = "acme-assessors", key: String? = nil) throws -> Shell.Result {
            let file = try dir.write("batch-\(UUID().uuidString.prefix(8))", batch + "\n")
            return try Shell.run(["sftp"] + sftpArguments(batchFile: file, user: user, key: key ?? self.key(user)),
                                 directory: dir.path)
        }

        /// Every event: `action|outcome|partner|bundle|bytes|reason|transport|client`.
        func events() throws -> [String] {
            let r = try Shell.run(["python3", "-c", """
                import sqlite3, sys
                for row in sqlite3.connect(sys.argv[1]).execute("SELECT action, outcome, coalesce(partner_id,''), coalesce(bundle_id,''), coalesce(bytes,''), coalesce(reason,''), transport, coalesce(client_address,'') FROM event ORDER BY seq"):
                    print("|".join(str(x) for x in row))
                """, database])
            try ok(r)
            return r.stdout.split(separator: "\n").map(String.init)
        }

        /// The events recorded after the first `count`, waiting briefly for a session thread to
        /// finish recording (refused logins are recorded after the client has gone).
        func events(after count: Int, until done: ([String]) -> Bool) throws -> [String] {
            let deadline = Date().addingTimeInterval(5)
            var new = Array(try events().dropFirst(count))
            while !done(new), Date() < deadline {
                usleep(50_000)
                new = Array(try events().dropFirst(count))
            }
            return new
        }
    }

    // MARK: paramiko

    /// A venv with paramiko, cached across test runs in the temporary folder (shared/PEERS.md).
    enum Paramiko {
        static let venv = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("claimgate-paramiko-venv").path
        static let python: Result<String, Unavailable> = {
            do { return .success(try prepare()) } catch let e as Unavailable { return .failure(e) } catch {
                return .failure(Unavailable(message: "cannot prepare the paramiko venv \(venv): \(error)"))
            }
        }()

        struct Unavailable: Error { let message: String }

        private static func prepare() throws -> String {
            let py = venv + "/bin/python"
            if FileManager.default.isExecutableFile(atPath: py), try Shell.run([py, "-c", "import paramiko"]).succeeded {
                return py
            }
            try? FileManager.default.removeItem(atPath: venv)
            let created = try Shell.run(["python3", "-m", "venv", venv])
            guard created.succeeded else {
                throw Unavailable(message: "`python3 -m venv \(venv)` failed (exit \(created.status)): \(created.stderr)")
            }
            let pip = try Shell.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--timeout", "30", "paramiko"])
            guard pip.succeeded else {
                throw Unavailable(message: "`pip install paramiko` failed (exit \(pip.status); is PyPI reachable?): \(pip.stderr.suffix(2000))")
            }
            let check = try Shell.run([py, "-c", "import paramiko; print(paramiko.__version__)"])
            guard check.succeeded else {
                throw Unavailable(message: "paramiko installed but does not import: \(check.stderr)")
            }
            return py
        }

        /// The venv's python, or nil after recording an Issue (a missing peer never passes silently).
        static func pythonOrIssue(sourceLocation: SourceLocation = #_sourceLocation) -> String? {
            switch python {
            case .success(let py): return py
            case .failure(let e):
                Issue.record("paramiko is not available, so this peer was not tested: \(e.message)", sourceLocation: sourceLocation)
                return nil
            }
        }

        /// Connects with paramiko, checking the host key against `HOSTPUB` for `[HOST]:PORT` with
        /// RejectPolicy (exit 3 on a mismatch), then runs the script's own body with `client` and `sftp`.
        static let prologue = #"""
            import base64, hashlib, sqlite3, sys, paramiko
            host, port, user, keyfile, hostpub = sys.argv[1:6]
            args = sys.argv[6:]
            ktype, kb64 = open(hostpub).read().split()[:2]
            assert ktype == "ssh-ed25519", ktype
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            client.get_host_keys().add("[%s]:%s" % (host, port), ktype, paramiko.Ed25519Key(data=base64.b64decode(kb64)))
            try:
                client.connect(host, port=int(port), username=user, pkey=paramiko.Ed25519Key.from_private_key_file(keyfile),
                               allow_agent=False, look_for_keys=False, timeout=10, banner_timeout=10, auth_timeout=10)
            except paramiko.BadHostKeyException as e:
                print("BAD-HOST-KEY", e)
                sys.exit(3)
            sftp = client.open_sftp()

            """#

        static func run(_ body: String, _ g: Gateway, user: String = "acme-assessors", hostKey: String? = nil,
                        _ args: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> Shell.Result? {
            guard let py = pythonOrIssue(sourceLocation: sourceLocation) else { return nil }
            return try Shell.run([py, "-c", prologue + body, "127.0.0.1", g.port, user, g.key(user), hostKey ?? g.hostKeyFile] + args)
        }
    }

    @Test func paramikoDownloadsTheSameBundle() throws {
        let g = try Gateway()
        let id = g.bundles["acme-assessors"]!
        let before = try g.events().count
        guard let r = try Paramiko.run(#"""
            print("LIST", " ".join(sorted(sftp.listdir("/outbox"))))
            h, n = hashlib.sha256(), 0
            with sftp.open(args[0], "rb") as f:
                f.prefetch()
                while True:
                    b = f.read(65536)
                    if not b:
                        break
                    h.update(b)
                    n += len(b)
            print("SIZE", n)
            print("SHA256", h.hexdigest())
            sftp.close()
            client.close()
            """#, g, ["/outbox/\(id).p7m"]) else { return }
        try g.ok(r)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("LIST \(id).p7m"), "only acme's own bundle is listed: \(r.stdout)")
        #expect(!r.stdout.contains(g.bundles["st-marys-hospital"]!))
        let expected = try Shell.run(["sha256sum", g.outboxFile("acme-assessors")]).stdout.prefix(64)
        #expect(expected.count == 64)
        #expect(lines.contains("SHA256 \(expected)"), "\(r.stdout)")
        let size = try #require(FileManager.default.attributesOfItem(atPath: g.outboxFile("acme-assessors"))[.size] as? Int)
        #expect(lines.contains("SIZE \(size)"))

        let new = try g.events(after: before) { $0.contains { $0.hasPrefix("download|success|") } }
        #expect(new.contains { $0.hasPrefix("login|success|acme-assessors|") && $0.contains("|sftp|127.0.0.1:") }, "\(new)")
        #expect(new.contains { $0.hasPrefix("listing|success|acme-assessors|") }, "\(new)")
        // Recorded when it starts (before any byte is served) and when it ends.
        let downloads = new.filter { $0.hasPrefix("download|") }
        #expect(downloads.count == 2, "\(downloads)")
        #expect(downloads.first?.hasPrefix("download|started|acme-assessors|\(id)|") == true, "\(downloads)")
        #expect(downloads.last?.hasPrefix("download|success|acme-assessors|\(id)|\(size)|") == true, "\(downloads)")
        #expect(downloads.allSatisfy { $0.contains("|sftp|127.0.0.1:") })
    }

    @Test func paramikoRefusesAGatewayThatDoesNotPresentThePinnedHostKey() throws {
        let g = try Gateway()
        let before = try g.events().count
        // Pin some other ed25519 key for [127.0.0.1]:PORT: the client must not log in.
        guard let r = try Paramiko.run(#"print("CONNECTED")"#, g, hostKey: g.key("st-marys-hospital") + ".pub") else { return }
        #expect(r.status == 3, "exit \(r.status): \(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("BAD-HOST-KEY"))
        #expect(!r.stdout.contains("CONNECTED"))
        usleep(300_000)
        #expect(!(try g.events().dropFirst(before)).contains { $0.hasPrefix("login|") })
    }

    // MARK: Many sessions at once

    @Test func sixtyFourConcurrentSessionsWork() throws {
        let g = try Gateway(documentBytes: 1 << 20)
        let id = g.bundles["acme-assessors"]!
        let original = try #require(FileManager.default.contents(atPath: g.outboxFile("acme-assessors")))
        #expect(original.count > 1_000_000)
        let sftpPath = try Shell.run(["which", "sftp"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(sftpPath.hasPrefix("/"), "no sftp client")
        let work = TemporaryDirectory("claimgate-peer-clients")
        let count = 64
        var clients: [ServerProcess] = []
        let started = Date()
        // posix_spawn (through ServerProcess) rather than Foundation's Process, which reaps on one
        // thread: all 64 clients really run at once, each with its own log and download folder.
        for i in 0..<count {
            try FileManager.default.createDirectory(atPath: work.file("c\(i)"), withIntermediateDirectories: true)
            let batch = try work.write("c\(i)/batch", "get /outbox/\(id).p7m \(work.file("c\(i)/bundle.p7m"))\n")
            clients.append(try ServerProcess([sftpPath] + g.sftpArguments(batchFile: batch, user: "acme-assessors", key: g.key("acme-assessors")),
                                             logPath: work.file("c\(i)/client.log")))
        }
        let deadline = Date().addingTimeInterval(45)
        while clients.contains(where: \.isRunning), Date() < deadline { usleep(20_000) }
        let statuses = clients.map { $0.stop(timeout: 1) }   // already exited: returns the status
        let elapsed = Date().timeIntervalSince(started)
        for i in 0..<count {
            let log = clients[i].text
            #expect(statuses[i] == 0, "client \(i) exit \(statuses[i]): \(log)")
            #expect(FileManager.default.contents(atPath: work.file("c\(i)/bundle.p7m")) == original, "client \(i)'s copy differs")
        }
        #expect(elapsed < 45, "64 sessions took \(elapsed) s")
        #expect(!g.server.text.contains("too many sessions"))
        #expect(g.server.isRunning)

        let downloads = try g.events(after: 0) { $0.filter { $0.hasPrefix("download|") }.count >= count }
            .filter { $0.hasPrefix("download|") }
        let successes = downloads.filter { $0.hasPrefix("download|success|acme-assessors|\(id)|\(original.count)||sftp|127.0.0.1:") }
        #expect(successes.count == count, "\(downloads.count) download events, \(successes.count) complete successes: \(downloads.prefix(5))")
        // Each session is its own connection: 64 distinct client addresses.
        #expect(Set(successes.map { $0.split(separator: "|").last ?? "" }).count == count)
        // The gateway still serves afterwards.
        try g.ok(try g.sftp("ls /outbox"))
    }

    // MARK: Refused partners

    /// SFTPEndToEndTests checks that *some* refusal is `unknown-key`; this pins it to the case of
    /// a real partner's key used for another partner's id.
    @Test func anotherPartnersKeyIsRefusedAsAnUnknownKey() throws {
        let g = try Gateway()
        let before = try g.events().count
        let r = try g.sftp("ls /outbox", user: "st-marys-hospital", key: g.key("acme-assessors"))
        #expect(!r.succeeded)
        #expect(r.stderr.contains("Permission denied (publickey)"), "\(r.stderr)")
        #expect(!r.stdout.contains(g.bundles["st-marys-hospital"]!))
        let new = try g.events(after: before) { $0.contains { $0.hasPrefix("login-refused|") } }
        let refused = new.filter { $0.hasPrefix("login-refused|") }
        #expect(refused.count == 1, "\(new)")
        #expect(refused.first?.hasPrefix("login-refused|refused|||") == true, "no partner is logged in: \(refused)")
        #expect(refused.first?.contains("|unknown-key: st-marys-hospital|sftp|127.0.0.1:") == true, "\(refused)")
        #expect(!new.contains { $0.hasPrefix("login|") || $0.hasPrefix("listing|") }, "\(new)")
    }

    /// `claimgate partner suspend` ends the partner's open session at its next request and
    /// refuses new logins; other partners are unaffected.
    @Test func aSuspendedPartnerIsCutOffAndCannotLogIn() throws {
        let g = try Gateway()
        let before = try g.events().count
        guard let r = try Paramiko.run(#"""
            import subprocess
            print("BEFORE", " ".join(sorted(sftp.listdir("/outbox"))))
            subprocess.run([args[0], "partner", "suspend", user, "--home", args[1], "--reason", "test"], check=True, capture_output=True)
            try:
                data = sftp.open("/outbox/" + args[2] + ".p7m").read()
                print("AFTER downloaded", len(data))
            except (IOError, OSError, EOFError, paramiko.SSHException) as e:
                print("AFTER refused", type(e).__name__, e)
            try:
                print("AFTER listed", sftp.listdir("/outbox"))
            except (IOError, OSError, EOFError, paramiko.SSHException) as e:
                print("AFTER refused", type(e).__name__, e)
            client.close()
            """#, g, [ClaimgateBinary.path, g.home, g.bundles["acme-assessors"]!]) else { return }
        try g.ok(r)
        #expect(r.stdout.contains("BEFORE \(g.bundles["acme-assessors"]!).p7m"), "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("AFTER refused"), "\(r.stdout)")
        #expect(!r.stdout.contains("AFTER downloaded"), "the next download fails: \(r.stdout)")
        #expect(!r.stdout.contains("AFTER listed"))

        let login = try g.sftp("ls /outbox")
        #expect(!login.succeeded)
        #expect(login.stderr.contains("Permission denied (publickey)"), "\(login.stderr)")
        let new = try g.events(after: before) { $0.contains { $0.hasPrefix("login-refused|") } }
        #expect(new.contains { $0.hasPrefix("access-refused|refused|acme-assessors||") && $0.contains("|partner-suspended|") }, "\(new)")
        #expect(new.contains { $0.hasPrefix("login-refused|refused|acme-assessors||") && $0.contains("|partner-suspended: acme-assessors|") }, "\(new)")
        #expect(new.filter { $0.hasPrefix("listing|success|acme-assessors|") }.count == 1, "\(new)")

        // st-marys-hospital still works.
        let other = try g.sftp("ls /outbox", user: "st-marys-hospital")
        try g.ok(other)
        #expect(other.stdout.contains(g.bundles["st-marys-hospital"]!))
    }

    /// libssh hands names over as C strings: a name with a NUL byte must be refused, never cut at
    /// the NUL (`X.p7m\0.txt` must not open `X.p7m`).
    @Test func aNameWithANulByteIsRefusedNotTruncated() throws {
        let g = try Gateway()
        let id = g.bundles["acme-assessors"]!
        let before = try g.events().count
        guard let r = try Paramiko.run(#"""
            name = "/outbox/" + args[0] + ".p7m"
            for probe in (name + "\x00.txt", name + "\x00"):
                for op, call in (("open", lambda: sftp.open(probe).read()), ("stat", lambda: sftp.stat(probe))):
                    try:
                        call()
                        print("SERVED", op, repr(probe))
                    except (IOError, OSError) as e:
                        print("REFUSED", op, type(e).__name__)
            print("PLAIN", len(sftp.open(name).read()))
            client.close()
            """#, g, [id]) else { return }
        try g.ok(r)
        #expect(!r.stdout.contains("SERVED"), "\(r.stdout)")
        #expect(r.stdout.components(separatedBy: "REFUSED").count - 1 == 4, "\(r.stdout)")
        #expect(r.stdout.contains("PLAIN "), "the name without the NUL is still served: \(r.stdout)")
        let new = try g.events(after: before) { $0.contains { $0.hasPrefix("download|success|") } }
        let refused = new.filter { $0.hasPrefix("access-refused|refused|acme-assessors|") && $0.contains("|path-refused: ") }
        #expect(refused.count == 4, "\(new)")
        #expect(new.filter { $0.hasPrefix("download|started|") }.count == 1, "only the plain name was served: \(new)")
    }

    /// Public keys are not secret: a client that offers a suspended partner's public key but
    /// cannot sign with it (stock `sftp` in batch mode, the key under a passphrase) is refused, and the refusal is
    /// not attributed to the partner; the partner itself, signing, is refused as that partner.
    @Test func aProbeWithAPartnersPublicKeyIsNotRecordedAsThePartner() throws {
        let g = try Gateway()
        try g.ok(ClaimgateBinary.run(["partner", "suspend", "acme-assessors", "--home", g.home]))
        let before = try g.events().count
        // The key under a passphrase the batch client cannot ask for: OpenSSH offers the public
        // half, and cannot sign when the gateway answers that the key is acceptable.
        let probe = g.dir.path + "/probe"
        try FileManager.default.copyItem(atPath: g.key("acme-assessors"), toPath: probe)
        try FileManager.default.copyItem(atPath: g.key("acme-assessors") + ".pub", toPath: probe + ".pub")
        try g.ok(Shell.run(["ssh-keygen", "-q", "-p", "-P", "", "-N", "not-typed-in-batch-mode", "-f", probe]))
        let r = try g.sftp("ls /outbox", key: probe)
        #expect(!r.succeeded)
        let refused = try g.events(after: before) { $0.contains { $0.hasPrefix("login-refused|") } }.filter { $0.hasPrefix("login-refused|") }
        #expect(refused.count == 1, "\(refused)")
        #expect(refused.first?.hasPrefix("login-refused|refused|||") == true, "a probe names no partner: \(refused)")
        #expect(refused.first?.contains("|partner-suspended: acme-assessors|") == true, "\(refused)")

        let signed = try g.events().count
        #expect(!(try g.sftp("ls /outbox")).succeeded)
        let proven = try g.events(after: signed) { $0.contains { $0.hasPrefix("login-refused|") } }.filter { $0.hasPrefix("login-refused|") }
        #expect(proven.first?.hasPrefix("login-refused|refused|acme-assessors||") == true, "a signed login names its partner: \(proven)")
    }
}
