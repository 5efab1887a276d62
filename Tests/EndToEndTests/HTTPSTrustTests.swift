import ClaimGateTesting
import Foundation
import Testing

/// Which client certificates `claimgate serve --https` accepts, as the agreements stand: anchors
/// added while it runs, pinned fingerprints and subjects, rogue CAs imitating a partner.
@Suite(.serialized) struct HTTPSTrustTests {
    final class Home: GatewayUnderTest, @unchecked Sendable {
        init() throws { try super.init("claimgate-https-trust") }

        /// Onboards st-marys-hospital (https pull) with an optional `certificates.tls_client` block.
        func addStMarys(tlsClient: String? = nil) throws -> Shell.Result {
            try addPartner(Fixtures.stMarysAgreement(pki: pki, reference: "DSA-TRUST", certificates: tlsClient.map { "tls_client: \($0)" }))
        }

        /// GET /v1/bundles with a certificate and key; the HTTP status (000 when the handshake failed).
        func list(cert: String, key: String) throws -> String { try curlStatus("/v1/bundles", cert: cert, key: key) }

        func listAsStMarys() throws -> String { try curlStatus("/v1/bundles", as: "st-marys-hospital") }
    }

    @Test func aPartnerOnboardedWhileServeRunsIsAcceptedWithoutARestart() throws {
        let h = try Home()
        try h.serve()
        #expect(try h.listAsStMarys() == "000", "no partner trusts this CA yet: refused at the handshake")
        try #require(try h.addStMarys().succeeded)
        #expect(try h.listAsStMarys() == "200")
        #expect(h.server?.isRunning == true)
    }

    /// The partner's document-signing certificate chains to the same anchor but is not meant for
    /// TLS client authentication (extended key usage emailProtection): refused at the handshake.
    @Test func idleAndHalfOpenedConnectionsAreClosed() throws {
        let h = try Home()
        try h.onboardStandardPartners(reference: "DSA-IDLE")
        try h.serve(extra: ["--https-idle-timeout", "1"])
        // A TCP connection that never starts a handshake, and a TLS connection that sends no
        // request after its handshake: both are closed by the server (python3 sees EOF) well
        // before the client gives up.
        let script = #"""
            import socket, ssl, sys, time
            port, trust, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            def closed_after(sock):
                start = time.monotonic()
                sock.settimeout(10)
                try:
                    data = sock.recv(1)
                except (ConnectionResetError, ssl.SSLError):
                    data = b""
                return time.monotonic() - start if data == b"" else -1
            raw = socket.create_connection(("127.0.0.1", port))
            print("tcp %.1f" % closed_after(raw))
            ctx = ssl.create_default_context(cafile=trust)
            ctx.load_cert_chain(cert, key)
            tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
            print("tls %.1f" % closed_after(tls))
            """#
        let r = try Shell.run(["python3", "-c", script, h.httpsPort, h.trust,
                               "\(h.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.pem", "\(h.pki)/\(GatewayUnderTest.httpsPartner)/tls-client.key"])
        try h.ok(r)
        for line in r.stdout.split(separator: "\n") {
            let seconds = Double(line.split(separator: " ").last ?? "") ?? -1
            #expect(seconds >= 0.5 && seconds < 5, "\(line)")
        }
        #expect(r.stdout.split(separator: "\n").count == 2, "\(r.stdout)")
        // The server is still serving.
        #expect(try h.curlStatus("/v1/bundles") == "200")
    }

    @Test func aCertificateNotMeantForTLSClientsIsRefused() throws {
        let h = try Home()
        try #require(try h.addStMarys().succeeded)
        try h.serve()
        let eku = try h.openssl(["x509", "-noout", "-ext", "extendedKeyUsage", "-in", "\(h.pki)/st-marys-hospital/signing.pem"])
        #expect(eku.contains("E-mail Protection") && !eku.contains("Client"), "\(eku)")
        #expect(try h.list(cert: "\(h.pki)/st-marys-hospital/signing.pem", key: "\(h.pki)/st-marys-hospital/signing.key") == "000")
        #expect(try h.listAsStMarys() == "200")
    }

    @Test func aCertificateFromARogueCAWithTheSameSubjectIsRefused() throws {
        let h = try Home()
        try #require(try h.addStMarys().succeeded)
        try h.serve()
        let subject = try h.openssl(["x509", "-noout", "-subject", "-nameopt", "compat", "-in", "\(h.pki)/st-marys-hospital/tls-client.pem"])
            .replacingOccurrences(of: "subject=", with: "")
        let caSubject = try h.openssl(["x509", "-noout", "-subject", "-nameopt", "compat", "-in", "\(h.pki)/st-marys-hospital/ca.pem"])
            .replacingOccurrences(of: "subject=", with: "")
        let d = h.dir.path
        // A rogue CA with the partner CA's name issues a client certificate with the partner's name.
        _ = try h.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(d)/rogue-ca.key",
                           "-out", "\(d)/rogue-ca.pem", "-subj", caSubject, "-days", "2",
                           "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
        _ = try h.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(d)/rogue.key",
                           "-out", "\(d)/rogue.csr", "-subj", subject])
        let ext = try h.dir.write("rogue.ext", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n")
        _ = try h.openssl(["x509", "-req", "-in", "\(d)/rogue.csr", "-CA", "\(d)/rogue-ca.pem", "-CAkey", "\(d)/rogue-ca.key",
                           "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", "\(d)/rogue.pem"])
        #expect(try h.openssl(["x509", "-noout", "-subject", "-nameopt", "compat", "-in", "\(d)/rogue.pem"]) == "subject=\(subject)")
        #expect(try h.list(cert: "\(d)/rogue.pem", key: "\(d)/rogue.key") == "000")
        #expect(try h.listAsStMarys() == "200")
        // The handshake refusal is recorded.
        let metrics = try h.metrics()
        #expect(metrics.contains("claimgate_refusals_total{reason=\"untrusted-client-certificate\"} 1"), "\(metrics)")
    }

    @Test func aPinnedFingerprintOrSubjectLimitsWhichCertificatesIdentifyThePartner() throws {
        // Pinned to another certificate (acme's client certificate): the partner's own is refused with 403.
        let other = try Home()
        let acmeFingerprint = try other.openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", "\(other.pki)/acme-assessors/tls-client.pem"])
        try #require(try other.addStMarys(tlsClient: "{fingerprints: [\"\(acmeFingerprint)\"]}").succeeded)
        try other.serve()
        #expect(try other.listAsStMarys() == "403")

        // Pinned by its own subject and by its own fingerprint: accepted.
        let h = try Home()
        let subject = try h.openssl(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", "\(h.pki)/st-marys-hospital/tls-client.pem"])
        let fingerprint = try h.openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", "\(h.pki)/st-marys-hospital/tls-client.pem"])
        try #require(try h.addStMarys(tlsClient: "{subjects: [\"\(subject)\"], fingerprints: [\"\(fingerprint)\"]}").succeeded)
        try h.serve()
        #expect(try h.listAsStMarys() == "200")
    }

    @Test func aMalformedPinIsRefusedAtOnboardingNamingTheField() throws {
        let h = try Home()
        let r = try h.addStMarys(tlsClient: "{fingerprints: [\"AB:CD\"]}")
        #expect(!r.succeeded)
        #expect(r.stderr.contains("certificates.tls_client.fingerprints"), "\(r.stderr)")
        #expect(r.stderr.contains("openssl x509 -noout -fingerprint -sha256"))
    }
}
