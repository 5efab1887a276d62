import ClaimGateTesting
import Foundation
import Testing

/// Two `claimgate serve` nodes on one home folder and one PostgreSQL database, driven by stock
/// `curl`, `sftp` and the `claimgate` command: a partner pulls from either node, sends and
/// downloads on both at once keep one intact audit chain, a suspension made through one node's
/// database cuts the other node off within a second, and the singleton jobs' leases move to the
/// surviving node when their holder is killed.
@Suite(.serialized) struct ClusterEndToEndTests {
    struct Node {
        let process: ServerProcess
        let https: String, sftp: String, admin: String
    }

    /// Starts a node (`serve` on the shared home), keeping its ports apart from `g`'s.
    static func start(_ g: GatewayUnderTest, extra: [String] = []) throws -> Node {
        let p = try g.serve(extra: extra)
        g.server = nil   // stopped by the test, node by node
        return Node(process: p, https: g.httpsPort, sftp: g.sftpPort, admin: g.adminPort)
    }

    static func readyz(_ node: Node) throws -> String {
        try Shell.run(["curl", "-sS", "http://127.0.0.1:\(node.admin)/readyz"]).stdout
    }

    @Test func twoNodesShareOnePartnerViewOneChainAndTheirJobs() throws {
        let url = try SharedPostgres.newDatabase()
        let g = try GatewayUnderTest("claimgate-cluster", database: url)
        try g.onboardStandardPartners(reference: "CLUSTER")
        let doc = try g.dir.write("report.pdf", "%PDF-1.4\n" + String(repeating: "cluster record ", count: 10_000))
        let first = try g.send(doc, to: GatewayUnderTest.httpsPartner, claim: "CLM-C1")
        try g.ok(first.result)
        let sftpBundle = try g.send(doc, to: GatewayUnderTest.sftpPartner, claim: "CLM-C2")
        try g.ok(sftpBundle.result)

        // A database already holding a gateway is not initialised again, and a URL that is not
        // one is refused with what to give.
        let again = try ClaimgateBinary.run(["init", "--home", g.dir.file("other-home"), "--database", url])
        #expect(again.status == 73 && again.stderr.contains("already holds a gateway"), "\(again.status) \(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: g.dir.file("other-home")), "nothing created")
        let bad = try ClaimgateBinary.run(["init", "--home", g.dir.file("bad-home"), "--database", "postgresql://db.example/x:secret"])
        #expect(bad.status == 64 && bad.stderr.contains("names no user") && bad.stderr.contains("PGPASSWORD"), "\(bad.status) \(bad.stderr)")

        let a = try Self.start(g)
        let b = try Self.start(g)
        defer { _ = a.process.stop(); _ = b.process.stop() }
        // The nodes share the SSH host key (the home's identity).
        let hostKey = try String(contentsOfFile: g.home + "/identity/ssh_host_ed25519.pub", encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        try g.dir.write("known_hosts", "[127.0.0.1]:\(a.sftp) \(hostKey)\n[127.0.0.1]:\(b.sftp) \(hostKey)\n")

        // The partner pulls the same bundle from either node, with stock curl and sftp.
        for node in [a, b] {
            g.httpsPort = node.https
            let file = g.dir.file("got-\(node.https).p7m")
            try g.ok(try g.curl(["-f", "-o", file, g.url("/v1/bundles/\(first.id)")]))
            #expect(FileManager.default.contents(atPath: file)?.count ?? 0 > 10_000)
            g.sftpPort = node.sftp
            let listing = try g.sftp("ls /outbox")
            try g.ok(listing)
            #expect(listing.stdout.contains("\(sftpBundle.id).p7m"))
        }

        // One node holds every singleton job's lease; the other says who does.
        let readyA = try Self.readyz(a), readyB = try Self.readyz(b)
        #expect(readyA.hasPrefix("ready\ndatabase: postgresql postgresql://"), "\(readyA)")
        let holderIsA = readyA.contains("lease deliveries: this-node")
        #expect(holderIsA != readyB.contains("lease deliveries: this-node"), "\(readyA)\n\(readyB)")

        // Sends through the shared home and downloads on both nodes at once: one chain, no gap.
        DispatchQueue.concurrentPerform(iterations: 12) { n in
            if n % 3 == 0 {
                _ = try? g.send(doc, to: GatewayUnderTest.httpsPartner, claim: "CLM-P\(n)")
            } else {
                let node = n % 2 == 0 ? a : b
                _ = try? Shell.run(["curl", "-sS", "-f", "--cacert", g.trust, "--cert", "\(g.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.pem",
                                    "--key", "\(g.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.key", "-o", "/dev/null",
                                    "https://127.0.0.1:\(node.https)/v1/bundles/\(first.id)"])
            }
        }
        let verify = try ClaimgateBinary.run(["audit", "verify", "--home", g.home])
        try g.ok(verify)
        #expect(verify.stdout.contains("intact"), "\(verify.stdout)")

        // A suspension (the command on the shared home) cuts the partner off within a second on
        // both nodes, on connections and sessions already open on node B: a kept-alive HTTPS
        // connection (python's http.client) and a stock `sftp` session.
        let script = #"""
            import http.client, ssl, subprocess, sys, time
            port, sftp_port, trust, cert, key, bundle, claimgate, home, ssh_key, known, sftp_user = sys.argv[1:12]
            ctx = ssl.create_default_context(cafile=trust)
            ctx.load_cert_chain(cert, key)
            conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
            def get(path):
                conn.request("GET", path)
                r = conn.getresponse(); r.read()
                return r.status
            print("before", get("/v1/bundles/" + bundle), flush=True)
            sock = conn.sock
            sftp = subprocess.Popen(["sftp", "-b", "-", "-P", sftp_port, "-i", ssh_key, "-o", "UserKnownHostsFile=" + known,
                                     "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                                     sftp_user + "@127.0.0.1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            sftp.stdin.write("ls /outbox\n"); sftp.stdin.flush()
            time.sleep(1.5)
            subprocess.run([claimgate, "partner", "suspend", "st-marys-hospital", "--home", home], check=True, capture_output=True)
            subprocess.run([claimgate, "partner", "suspend", sftp_user, "--home", home], check=True, capture_output=True)
            time.sleep(1.2)
            print("suspended", get("/v1/bundles/" + bundle), "same-connection", conn.sock is sock, flush=True)
            sftp.stdin.write("ls /outbox\n"); sftp.stdin.flush()
            out, _ = sftp.communicate("bye\n", timeout=30)
            print("sftp-exit", sftp.returncode)
            print(out)
            """#
        let keepAlive = try Shell.run(["python3", try g.dir.write("keepalive.py", script), b.https, b.sftp, g.trust,
                                       "\(g.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.pem",
                                       "\(g.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.key", first.id, ClaimgateBinary.path, g.home,
                                       "\(g.pki)/\(GatewayUnderTest.sftpPartner)/ssh_ed25519", g.dir.file("known_hosts"),
                                       GatewayUnderTest.sftpPartner])
        try g.ok(keepAlive)
        #expect(keepAlive.stdout.contains("before 200"), "\(keepAlive.stdout)")
        #expect(keepAlive.stdout.contains("suspended 403 same-connection True"), "\(keepAlive.stdout)")
        // The session's first listing showed the bundle; after the suspension node B ends the
        // session (sftp: "closed by remote host"), and nothing more is listed.
        #expect(keepAlive.stdout.components(separatedBy: "\(sftpBundle.id).p7m").count == 2, "\(keepAlive.stdout)")
        #expect(!keepAlive.stdout.contains("sftp-exit 0"), "\(keepAlive.stdout)")
        // And node A refuses new requests as well.
        g.httpsPort = a.https
        #expect(try g.curlStatus("/v1/bundles") == "403")

        // kill -9 the lease holder: the other node takes the jobs over (lease 15 s, renewal 5 s).
        let (holder, survivor) = holderIsA ? (a, b) : (b, a)
        kill(holder.process.pid, SIGKILL)
        let killed = Date()
        var takenOver = false
        while !takenOver, Date().timeIntervalSince(killed) < 30 {
            takenOver = try Self.readyz(survivor).contains("lease deliveries: this-node fence=2")
            if !takenOver { usleep(500_000) }
        }
        let after = try Self.readyz(survivor)
        #expect(takenOver, "\(after)")
        #expect(Date().timeIntervalSince(killed) < 30)
        try g.ok(ClaimgateBinary.run(["audit", "verify", "--home", g.home]))
    }

    @Test func thePendingPushOfAKilledLeaseHolderIsDeliveredOnceByTheOtherNode() throws {
        let port = try FreePort.find()
        let s = try HTTPSPushTests.Setup(start: false, database: try SharedPostgres.newDatabase(), port: port)
        let (id, r) = try s.send()
        #expect(r.succeeded, "sealed and queued: \(r.stderr)")
        #expect(try s.delivery(id)["state"] as? String == "pending", "nobody listens on \(port) yet")

        let a = try Self.start(s, extra: ["--retry-base", "1"])
        let b = try Self.start(s, extra: ["--retry-base", "1"])
        defer { _ = a.process.stop(); _ = b.process.stop() }
        let holderIsA = try Self.readyz(a).contains("lease deliveries: this-node")
        let (holder, survivor) = holderIsA ? (a, b) : (b, a)
        #expect(try !Self.readyz(survivor).contains("lease deliveries: this-node"))

        // The holder dies with the push pending; the receiver comes up; the other node takes
        // the job over once the lease ran out and delivers the bundle, once.
        kill(holder.process.pid, SIGKILL)
        try s.startReceiver(port: port)
        let d = try s.waitDelivered(id, seconds: 60)
        #expect(d["state"] as? String == "delivered", "\(d)")
        #expect(s.log.count == 1 && s.log[0].hasPrefix("stored \(id) "), "\(s.log)")
        #expect(try Self.readyz(survivor).contains("lease deliveries: this-node fence=2"))
        try s.ok(ClaimgateBinary.run(["audit", "verify", "--home", s.home]))
    }

    /// `psql` on the cluster's database: rows unaligned, `|` between columns.
    static func psql(_ url: String, _ query: String) throws -> String {
        let r = try Shell.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", query])
        try #require(r.succeeded, "\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aDownloadCutByKillingItsNodeResumesWithARangeOnTheOtherNode() throws {
        let url = try SharedPostgres.newDatabase()
        let g = try GatewayUnderTest("claimgate-cluster-resume", database: url)
        try g.onboardStandardPartners(reference: "RESUME")
        // 100 MiB of random content behind a PDF header.
        let doc = g.dir.file("scan.pdf")
        try g.ok(Shell.bash("(printf '%%PDF-1.4\\n'; head -c 104857600 /dev/urandom) > '\(doc)'"))
        let sent = try g.send(doc, to: GatewayUnderTest.httpsPartner, claim: "CLM-BIG")
        try g.ok(sent.result)
        let original = g.home + "/outbox/\(GatewayUnderTest.httpsPartner)/\(sent.id).p7m"

        let a = try Self.start(g)
        let b = try Self.start(g)
        defer { _ = a.process.stop(); _ = b.process.stop() }
        let part = g.dir.file("big.p7m")
        // Stock curl from node A, slowed so that node A dies in the middle of it.
        let download = try ServerProcess(["curl", "-sS", "--limit-rate", "20M", "--cacert", g.trust,
                                          "--cert", "\(g.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.pem",
                                          "--key", "\(g.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.key",
                                          "-o", part, "https://127.0.0.1:\(a.https)/v1/bundles/\(sent.id)"],
                                         logPath: g.dir.file("curl-a.log"))
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, ((try? FileManager.default.attributesOfItem(atPath: part)[.size] as? Int) ?? 0) < 10_000_000 {
            usleep(50_000)
        }
        kill(a.process.pid, SIGKILL)
        while download.isRunning { usleep(50_000) }
        let offset = try #require(try FileManager.default.attributesOfItem(atPath: part)[.size] as? Int)
        let total = try #require(try FileManager.default.attributesOfItem(atPath: original)[.size] as? Int)
        #expect(offset >= 10_000_000 && offset < total, "cut in the middle: \(offset) of \(total)")

        // The partner resumes where it stopped (curl -C -: a Range request) on node B.
        g.httpsPort = b.https
        try g.ok(g.curl(["-C", "-", "-o", part, g.url("/v1/bundles/\(sent.id)")]))
        #expect(try g.sha256(part) == (try g.sha256(original)), "the whole bundle, byte for byte")

        // Both attempts are in the trail: node A's start, node B's start at the offset and its end.
        var rows: [String] = []
        for _ in 0..<50 {
            rows = try Self.psql(url, "SELECT outcome, COALESCE(bytes, 0) FROM event WHERE action = 'download' AND bundle_id = '\(sent.id)' ORDER BY seq")
                .split(separator: "\n").map(String.init)
            if rows.count >= 3 { break }
            usleep(100_000)
        }
        #expect(rows.filter { $0.hasPrefix("started|") } == ["started|0", "started|\(offset)"], "\(rows)")
        #expect(rows.contains { $0 == "partial|\(total - offset)" || $0 == "success|\(total - offset)" || $0 == "success|\(total)" }, "\(rows)")
        try g.ok(ClaimgateBinary.run(["audit", "verify", "--home", g.home]))
    }
}
