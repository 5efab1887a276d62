import ClaimGateTesting
import Foundation
import Testing

/// Revocation with real peers: the partner's CA revokes with the stock `openssl ca`, the CRL is
/// onboarded in `certificates.crl`, and `claimgate serve --https` refuses stock `curl` with the
/// revoked client certificate while the good one works; `partner update` with a newer CRL takes
/// effect on the running server. Also key rotation from the command line.
@Suite(.serialized) struct RevocationEndToEndTests {
    final class Home: GatewayUnderTest, @unchecked Sendable {
        var ca: String { dir.path + "/ca" }

        init() throws {
            try super.init("claimgate-revocation")
            // The partner CA's database for `openssl ca`, as a partner running a small CA keeps it.
            try dir.write("ca/index.txt", "")
            try dir.write("ca/crlnumber", "1000\n")
            try dir.write("ca/openssl.cnf", """
            [ ca ]
            default_ca = partner_ca
            [ partner_ca ]
            database = \(ca)/index.txt
            crlnumber = \(ca)/crlnumber
            certificate = \(pki)/st-marys-hospital/ca.pem
            private_key = \(pki)/st-marys-hospital/ca.key
            default_md = sha256
            default_crl_days = 7

            """)
        }

        /// Issues a certificate named `name` from st-marys-hospital's CA with the stock tools.
        func issue(_ name: String, subject: String, extensions: String) throws {
            let d = dir.path
            try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                         "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr", "-subj", subject])
            let ext = try dir.write("\(name).ext", extensions)
            try openssl(["x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(pki)/st-marys-hospital/ca.pem",
                         "-CAkey", "\(pki)/st-marys-hospital/ca.key", "-CAcreateserial", "-days", "30",
                         "-extfile", ext, "-out", "\(d)/\(name).pem"])
        }

        /// `openssl ca -revoke` each certificate, then `openssl ca -gencrl` into `name` (PEM, or
        /// DER through `openssl crl`).
        func crl(_ name: String, revoking certificates: [String], der: Bool = false) throws -> String {
            for c in certificates { try openssl(["ca", "-config", "\(ca)/openssl.cnf", "-revoke", c]) }
            let pem = dir.file("\(name).pem")
            try openssl(["ca", "-config", "\(ca)/openssl.cnf", "-gencrl", "-out", pem])
            guard der else { return pem }
            try openssl(["crl", "-in", pem, "-outform", "DER", "-out", dir.file("\(name).der")])
            return dir.file("\(name).der")
        }

        /// An agreement file for st-marys-hospital (https pull) with `crl` in `certificates.crl`.
        func agreement(crl: String) throws -> String {
            try agreementFile(Fixtures.stMarysAgreement(pki: pki, reference: "DSA-CRL", certificates: "crl: \(crl)"))
        }

        /// GET /v1/bundles with the dev PKI's client certificate (`tls-client`) or one issued by
        /// `issue`; the HTTP status (000 when the handshake failed).
        func list(as name: String) throws -> String {
            if name == "tls-client" { try curlStatus("/v1/bundles", as: "st-marys-hospital") }
            else { try curlStatus("/v1/bundles", cert: dir.file("\(name).pem"), key: dir.file("\(name).key")) }
        }
    }

    static let clientExtensions = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"

    @Test func aCRLRevokedClientCertificateIsRefusedWhileAGoodOneWorks() throws {
        let h = try Home()
        try h.issue("second", subject: "/O=St Mary's Hospital/CN=st-marys-hospital", extensions: Self.clientExtensions)
        let crl = try h.crl("crl-1", revoking: [h.dir.file("second.pem")], der: true)
        let added = try ClaimgateBinary.run(["partner", "add", try h.agreement(crl: crl), "--home", h.home])
        try #require(added.succeeded, "\(added.stderr)")
        try h.serve()

        #expect(try h.list(as: "tls-client") == "200")
        #expect(try h.list(as: "second") == "000", "revoked: refused at the handshake")
        let metrics = try h.metrics()
        #expect(metrics.contains("claimgate_refusals_total{reason=\"untrusted-client-certificate\"} 1"), "\(metrics)")

        // The CA revokes the other certificate too; `partner update` with the new CRL takes
        // effect on the running server within a second or so.
        let crl2 = try h.crl("crl-2", revoking: [h.pki + "/st-marys-hospital/tls-client.pem"])
        let updated = try ClaimgateBinary.run(["partner", "update", try h.agreement(crl: crl2), "--home", h.home])
        try #require(updated.succeeded, "\(updated.stderr)")
        var status = ""
        for _ in 0..<30 {
            status = try h.list(as: "tls-client")
            if status == "000" { break }
            usleep(200_000)
        }
        #expect(status == "000", "the new CRL was not picked up")
        #expect(h.server?.isRunning == true)
    }

    @Test func aCRLThatIsExpiredOrFromAnotherCAIsRefusedAtOnboardingNamingTheField() throws {
        let h = try Home()
        // Issued by another partner's CA.
        let d = h.dir.path
        try h.dir.write("other.cnf", """
        [ ca ]
        default_ca = other
        [ other ]
        database = \(d)/other-index.txt
        certificate = \(h.pki)/acme-assessors/ca.pem
        private_key = \(h.pki)/acme-assessors/ca.key
        default_md = sha256
        default_crl_days = 7

        """)
        try h.dir.write("other-index.txt", "")
        try h.openssl(["ca", "-config", "\(d)/other.cnf", "-gencrl", "-out", "\(d)/other-crl.pem"])
        let r = try ClaimgateBinary.run(["partner", "add", try h.agreement(crl: "\(d)/other-crl.pem"), "--home", h.home])
        #expect(r.status == 64)
        #expect(r.stderr.contains("certificates.crl") && r.stderr.contains("not signed by"), "\(r.stderr)")

        // Expired: a CRL due one second after it was issued, onboarded after that second.
        try h.openssl(["ca", "-config", "\(h.ca)/openssl.cnf", "-gencrl", "-crlsec", "1", "-out", "\(d)/short.pem"])
        sleep(2)
        let e = try ClaimgateBinary.run(["partner", "add", try h.agreement(crl: "\(d)/short.pem"), "--home", h.home])
        #expect(e.status == 64)
        #expect(e.stderr.contains("certificates.crl") && e.stderr.contains("expired") && e.stderr.contains("nextUpdate"), "\(e.stderr)")
        #expect(try ClaimgateBinary.run(["partner", "list", "--home", h.home]).stdout.contains("No partners"))
    }

    /// Needs `PartnerRotateCommand` among the `partner` subcommands.
    @Test func partnerRotateSchedulesTheNextEncryptionCertificate() throws {
        let h = try Home()
        let crl = try h.crl("crl-0", revoking: [])
        try #require(try ClaimgateBinary.run(["partner", "add", try h.agreement(crl: crl), "--home", h.home]).succeeded)
        try h.issue("next-enc", subject: "/O=St Mary's Hospital/CN=st-marys-hospital encryption 2",
                    extensions: "keyUsage=critical,keyAgreement\n")
        try h.issue("signing-only", subject: "/O=St Mary's Hospital/CN=not for encryption",
                    extensions: "keyUsage=critical,digitalSignature\n")
        let day = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(14 * 86_400)).prefix(10))
        let fingerprint = try h.openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", h.dir.file("next-enc.pem")])
            .split(separator: "=").last.map { $0.replacingOccurrences(of: ":", with: "").lowercased() } ?? ""

        let r = try ClaimgateBinary.run(["partner", "rotate", "st-marys-hospital", "--encryption", h.dir.file("next-enc.pem"),
                                         "--from", day, "--home", h.home])
        try #require(r.succeeded, "\(r.stderr)")
        #expect(r.stdout.contains(day) && r.stdout.contains(fingerprint), "\(r.stdout)")
        let show = try ClaimgateBinary.run(["partner", "show", "st-marys-hospital", "--json", "--home", h.home]).stdout
        #expect(show.contains("\"agreement_version\" : 2"), "\(show)")

        let bad = try ClaimgateBinary.run(["partner", "rotate", "st-marys-hospital", "--encryption", h.dir.file("signing-only.pem"),
                                           "--home", h.home])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--encryption") && bad.stderr.contains("keyAgreement"), "\(bad.stderr)")
        // The refused rotation is in the audit trail.
        #expect(try h.sql("SELECT count(*) FROM event WHERE action = 'partner-refused' AND partner_id = 'st-marys-hospital'") == "1")
        let date = try ClaimgateBinary.run(["partner", "rotate", "st-marys-hospital", "--encryption", h.dir.file("next-enc.pem"),
                                            "--from", "2026-13-01", "--home", h.home])
        #expect(date.status == 64)
        #expect(date.stderr.contains("YYYY-MM-DD"), "\(date.stderr)")
    }
}
