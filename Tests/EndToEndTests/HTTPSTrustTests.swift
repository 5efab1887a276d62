import ClaimGateTesting
import Foundation
import Testing

/// Which client certificates `claimgate serve --https` accepts, as the agreements stand: anchors
/// added while it runs, pinned fingerprints and subjects, rogue CAs imitating a partner.
@Suite(.serialized) struct HTTPSTrustTests {
    final class Home: @unchecked Sendable {
        let dir = TemporaryDirectory("claimgate-https-trust")
        var home: String { dir.path + "/home" }
        var pki: String { dir.path + "/pki" }
        var trust: String { dir.path + "/gateway.pem" }
        var server: ServerProcess?
        var port = ""
        var adminPort = ""

        init() throws {
            try #require(try ClaimgateBinary.run(["dev-pki", "--out", pki]).succeeded)
            try #require(try ClaimgateBinary.run(["init", "--home", home]).succeeded)
            try dir.write("gateway.pem", try ClaimgateBinary.run(["identity", "--pem", "--home", home]).stdout)
        }

        /// Onboards st-marys-hospital (https pull) with an optional `certificates.tls_client` block.
        func addStMarys(tlsClient: String? = nil) throws -> Shell.Result {
            let pin = tlsClient.map { ", tls_client: \($0)" } ?? ""
            let yaml = """
            id: st-marys-hospital
            name: St Mary's
            role: institution
            agreement: {reference: DSA-TRUST, purposes: [claim-assessment], document_types: [application/pdf], max_retention_days: 30, valid_until: 2099-12-31}
            certificates: {encryption: \(pki)/st-marys-hospital/encryption.pem, trust_anchor: \(pki)/st-marys-hospital/ca.pem\(pin)}
            delivery: {pull: [https]}
            """
            return try ClaimgateBinary.run(["partner", "add", try dir.write("stm.yaml", yaml), "--home", home])
        }

        func serve() throws {
            let s = try ServerProcess([ClaimgateBinary.path, "serve", "--home", home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0",
                                       "--admin", "127.0.0.1:0"], logPath: dir.file("serve.log"))
            port = try s.waitFor("https: listening on 127\\.0\\.0\\.1:([0-9]+)")
            adminPort = try s.waitFor("admin: listening on http://127\\.0\\.0\\.1:([0-9]+)")
            server = s
        }

        /// `curl` GET /v1/bundles with a certificate and key; prints the HTTP status (000 when
        /// the handshake failed).
        func list(cert: String, key: String) throws -> String {
            try Shell.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", trust, "--cert", cert, "--key", key,
                           "https://127.0.0.1:\(port)/v1/bundles"]).stdout
        }

        func listAsStMarys() throws -> String {
            try list(cert: "\(pki)/st-marys-hospital/tls-client.pem", key: "\(pki)/st-marys-hospital/tls-client.key")
        }

        func openssl(_ args: [String]) throws -> String {
            let r = try Shell.run(["openssl"] + args)
            try #require(r.succeeded, "\(r.stderr)")
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        deinit { _ = server?.stop() }
    }

    @Test func aPartnerOnboardedWhileServeRunsIsAcceptedWithoutARestart() throws {
        let h = try Home()
        try h.serve()
        #expect(try h.listAsStMarys() == "000", "no partner trusts this CA yet: refused at the handshake")
        try #require(try h.addStMarys().succeeded)
        #expect(try h.listAsStMarys() == "200")
        #expect(h.server?.isRunning == true)
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
        let metrics = try Shell.run(["curl", "-sS", "http://127.0.0.1:\(h.adminPort)/metrics"]).stdout
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
