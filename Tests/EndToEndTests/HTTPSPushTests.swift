import ClaimGateTesting
import Foundation
import Testing

/// `claimgate send` pushing to a partner's HTTPS endpoint: a Python `http.server` behind `ssl`
/// that requires a client certificate chaining to the gateway's CA, started by the test.
@Suite(.serialized) struct HTTPSPushTests {
    /// The receiver: stores each bundle once by `Bundle-Id`, checks `Repr-Digest`, and on request
    /// misbehaves on the first attempt (cuts the body, or stores and drops the answer).
    static let receiver = #"""
    import base64, hashlib, http.server, os, socket, ssl, sys, threading
    port_file, store, cert, key, client_ca, mode = sys.argv[1:7]
    port = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    lock = threading.Lock()
    attempts = {"n": 0}
    class Receiver(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def answer(self, code, text):
            body = text.encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def do_POST(self):
            with lock:
                attempts["n"] += 1
                n = attempts["n"]
            subject = dict(x[0] for x in self.connection.getpeercert()["subject"])
            bid = self.headers.get("Bundle-Id", "")
            length = int(self.headers.get("Content-Length", "0"))
            if mode == "cut-body" and n == 1:
                self.rfile.read(min(length, 65536))
                self.connection.shutdown(socket.SHUT_RDWR)
                self.connection.close()
                return
            digest, left, tmp = hashlib.sha256(), length, os.path.join(store, ".incoming-" + bid)
            with open(tmp, "wb") as f:
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    if not chunk: return
                    f.write(chunk); digest.update(chunk); left -= len(chunk)
            expected = "sha-256=:" + base64.b64encode(digest.digest()).decode() + ":"
            if self.headers.get("Repr-Digest") != expected:
                os.unlink(tmp); return self.answer(400, "digest mismatch")
            final = os.path.join(store, bid + ".p7m")
            with lock:
                if os.path.exists(final):
                    os.unlink(tmp)
                    with open(os.path.join(store, "log"), "a") as log: log.write("duplicate %s\n" % bid)
                    return self.answer(200, "already stored")
                os.rename(tmp, final)
                with open(os.path.join(store, "log"), "a") as log: log.write("stored %s %s %s\n" % (bid, digest.hexdigest(), subject.get("commonName")))
            if mode == "drop-answer" and n == 1:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.connection.close()
                return
            self.answer(201, "stored")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(port_file + ".tmp", "w") as f: f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    print("receiver: listening", flush=True)
    server.serve_forever()
    """#

    final class Setup: GatewayUnderTest, @unchecked Sendable {
        var store: String { dir.path + "/received" }
        var receiver: ServerProcess?
        var document = ""

        /// - Parameters:
        ///   - mode: how the receiver treats the first attempt (`normal`, `cut-body`, `drop-answer`).
        ///   - serverCA: which partner CA issues the receiver's certificate (the agreement trusts
        ///     st-marys-hospital's).
        ///   - database: a PostgreSQL URL for a home several nodes share (`init --database`).
        ///   - port: the receiver's port, fixed (it may be started later with `startReceiver`).
        init(mode: String = "normal", serverCA: String = "st-marys-hospital", start: Bool = true,
             database: String? = nil, port fixedPort: Int? = nil) throws {
            self.mode = mode
            try super.init("claimgate-https-push", database: database)
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
            // The receiver's server certificate, issued by a partner CA with stock openssl.
            let ext = try dir.write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n")
            try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                         "-keyout", dir.file("server.key"), "-subj", "/CN=receiver.example", "-out", dir.file("server.csr")])
            try openssl(["x509", "-req", "-in", dir.file("server.csr"), "-CA", "\(pki)/\(serverCA)/ca.pem",
                         "-CAkey", "\(pki)/\(serverCA)/ca.key", "-CAcreateserial", "-days", "2", "-extfile", ext,
                         "-out", dir.file("server.pem")])
            _ = try dir.write("receiver.py", HTTPSPushTests.receiver)
            document = try dir.write("report.pdf", "%PDF-1.4\n" + String(repeating: "hospital record ", count: 60_000))
            if start { try startReceiver(port: fixedPort) }
            let port = start ? (try String(contentsOfFile: dir.file("port"), encoding: .utf8)) : fixedPort.map(String.init) ?? "9"
            try onboard(Fixtures.stMarysAgreement(pki: pki, reference: "DSA-HTTPS-PUSH",
                                                  delivery: "{push: {https: {url: \"https://127.0.0.1:\(port)/inbound\"}}}"))
        }

        deinit { _ = receiver?.stop() }

        let mode: String

        /// Starts the receiver (on `port`, else a free one); it requires a client certificate
        /// chaining to the gateway's CA.
        func startReceiver(port: Int? = nil) throws {
            let r = try ServerProcess(["python3", dir.file("receiver.py"), dir.file("port"), store, dir.file("server.pem"), dir.file("server.key"),
                                       trust, mode] + (port.map { [String($0)] } ?? []), logPath: dir.file("receiver.log"))
            _ = try r.waitFor("receiver: listening")
            receiver = r
        }

        func send() throws -> (id: String, result: Shell.Result) {
            try send(document, to: "st-marys-hospital", claim: "CLM-P", lifetime: ["--ttl", "3d"])
        }

        var log: [String] {
            ((try? String(contentsOfFile: store + "/log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    @Test func sendPushesTheBundleWithTheGatewayClientCertificate() throws {
        let s = try Setup()
        let (id, r) = try s.send()
        #expect(r.succeeded, "\(r.stderr)")
        #expect(r.stderr.contains("delivered to https://127.0.0.1:"), "\(r.stderr)")
        let local = try s.sha256("\(s.home)/outbox/st-marys-hospital/\(id).p7m")
        // Stored once, byte for byte, and the receiver saw the gateway's client certificate.
        #expect(s.log == ["stored \(id) \(local) localhost"])
        #expect(try s.sha256("\(s.store)/\(id).p7m") == local)
        #expect(try s.delivery(id)["state"] as? String == "delivered")
        let show = try ClaimgateBinary.run(["bundle", "show", id, "--home", s.home])
        #expect(show.stdout.contains("delivery  success"), "\(show.stdout)")
    }

    @Test func aFirstAttemptCutOffMidBodyIsRetriedAndTheBundleArrivesOnce() throws {
        let s = try Setup(mode: "cut-body")
        let (id, r) = try s.send()
        #expect(r.succeeded, "the bundle is sealed and queued")
        var d = try s.delivery(id)
        #expect(d["state"] as? String == "pending", "\(d)")
        #expect(d["last_error_code"] as? String == "transfer-failed", "\(d)")
        #expect(s.log.isEmpty)
        let serve = try s.serve(extra: ["--retry-base", "1"])
        d = try s.waitDelivered(id)
        #expect(d["state"] as? String == "delivered", "\(d) \(serve.text)")
        #expect(d["attempts"] as? Int == 2)
        #expect(s.log.count == 1 && s.log[0].hasPrefix("stored \(id) "), "\(s.log)")
        #expect(try s.sha256("\(s.store)/\(id).p7m") == s.sha256("\(s.home)/outbox/st-marys-hospital/\(id).p7m"))
        #expect(serve.stop() == 0)
    }

    @Test func anAnswerLostAfterStorageIsRetriedAndDeduplicatedByBundleID() throws {
        let s = try Setup(mode: "drop-answer")
        let (id, r) = try s.send()
        #expect(r.succeeded)
        #expect(try s.delivery(id)["state"] as? String == "pending")
        let serve = try s.serve(extra: ["--retry-base", "1"])
        let d = try s.waitDelivered(id)
        #expect(d["state"] as? String == "delivered", "\(d) \(serve.text)")
        // Stored once; the retry was recognised by its Bundle-Id.
        #expect(s.log.count == 2 && s.log[0].hasPrefix("stored \(id) ") && s.log[1] == "duplicate \(id)", "\(s.log)")
        #expect(serve.stop() == 0)
    }

    @Test func aServerCertificateFromAnotherCAIsNotTrustedAndNothingIsSent() throws {
        let s = try Setup(serverCA: "acme-assessors")
        let (id, r) = try s.send()
        #expect(r.succeeded, "sealed and queued; the delivery failed")
        let d = try s.delivery(id)
        #expect(d["state"] as? String == "failed", "\(d)")
        #expect(d["last_error_code"] as? String == "server-not-trusted", "\(d)")
        #expect(s.log.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.store).filter { $0.hasSuffix(".p7m") }.isEmpty)
    }

    @Test func aReceiverThatIsDownLeavesTheDeliveryPending() throws {
        let s = try Setup(start: false)
        let (id, r) = try s.send()
        #expect(r.succeeded)
        let d = try s.delivery(id)
        #expect(d["state"] as? String == "pending", "\(d)")
        #expect(d["last_error_code"] as? String == "connect-failed", "\(d)")
    }
}
