import ClaimGateTesting
import Foundation
import Testing

/// `claimgate doctor` against a certificate made with the stock `openssl` command.
@Suite struct DoctorEndToEndTests {
    @Test func doctorReportsACertificateThatExpiresInTenDays() throws {
        let dir = TemporaryDirectory("claimgate-doctor")
        let home = dir.path + "/home", pki = dir.path + "/pki"
        func ok(_ r: Shell.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try #require(r.succeeded, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        }
        try ok(ClaimgateBinary.run(["dev-pki", "--out", pki]))
        try ok(ClaimgateBinary.run(["init", "--home", home, "--gateway-id", "doctor-gateway"]))
        // An encryption certificate valid for 10 days, issued by the partner's dev CA.
        try dir.write("ext.cnf", "keyUsage = critical,keyAgreement\n")
        try ok(Shell.bash("""
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '\(dir.path)/enc.key' \
                -subj '/O=ACME Loss Assessors Ltd/CN=acme encryption (short-lived)' -out '\(dir.path)/enc.csr' 2>/dev/null \
            && openssl x509 -req -in '\(dir.path)/enc.csr' -CA '\(pki)/acme-assessors/ca.pem' -CAkey '\(pki)/acme-assessors/ca.key' \
                -set_serial 4242 -days 10 -extfile '\(dir.path)/ext.cnf' -out '\(dir.path)/enc.pem' 2>/dev/null
            """))
        let agreement = try dir.write("acme-assessors.yaml", """
            id: acme-assessors
            name: ACME Loss Assessors
            role: assessor
            agreement:
              reference: DSA-DOCTOR
              purposes: [claim-assessment]
              document_types: [application/pdf]
              max_retention_days: 30
              valid_until: 2099-12-31
            certificates:
              encryption: \(dir.path)/enc.pem
              trust_anchor: \(pki)/acme-assessors/ca.pem
            ssh:
              authorized_keys_file: \(pki)/acme-assessors/ssh_ed25519.pub
            delivery:
              pull: [sftp]
            """)
        try ok(ClaimgateBinary.run(["partner", "add", agreement, "--home", home]))

        let text = try ClaimgateBinary.run(["doctor", "--home", home])
        #expect(text.status == 1, "warnings only: \(text.stdout) \(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let line = try #require(lines.first { $0.contains("certificate-expiring") }, "\(text.stdout)")
        #expect(line.hasPrefix("warning"))
        #expect(line.contains("acme-assessors (encryption)"))
        #expect(line.contains("The encryption certificate of acme-assessors expires on"))
        #expect(line.contains("(10 days left)"))
        #expect(lines.last == "1 warning (certificates and agreements ending within 30 days).")

        let json = try ClaimgateBinary.run(["doctor", "--home", home, "--json"])
        #expect(json.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
        #expect(report["status"] as? String == "warning")
        #expect(report["exit_status"] as? Int == 1)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.count == 1)
        #expect(findings.first?["code"] as? String == "certificate-expiring")
        #expect(findings.first?["subject"] as? String == "acme-assessors")
        #expect(findings.first?["certificate"] as? String == "encryption")
        #expect(findings.first?["days_left"] as? Int == 10)

        // Outside the window, all clear; a key open to others is an error.
        let narrow = try ClaimgateBinary.run(["doctor", "--home", home, "--days", "9"])
        #expect(narrow.status == 0)
        #expect(narrow.stdout.hasPrefix("All clear"))
        #expect(chmod(home + "/identity/tls.key", 0o644) == 0)
        let open = try ClaimgateBinary.run(["doctor", "--home", home, "--days", "9"])
        #expect(open.status == 2)
        #expect(open.stdout.contains("key-permissions"))
        #expect(open.stdout.contains("chmod 600"))
    }
}
