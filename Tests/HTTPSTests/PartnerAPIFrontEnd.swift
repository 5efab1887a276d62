import ClaimGateCore
import ClaimGateTesting
import Envelope
import Foundation
import HTTPS
import Logging
import ServiceLifecycle
import Testing

/// `PartnerAPIServer` on 127.0.0.1 (port 0) serving a `FakeExchange`, with a PKI issued for the
/// test: a gateway CA and its TLS server certificate (IP:127.0.0.1), and a partner CA with a TLS
/// client certificate the exchange knows. Driven by stock `curl`.
final class PartnerAPIFrontEnd: Sendable {
    static let partner = try! PartnerID("acme-assessors")

    let exchange: FakeExchange
    let dir: TemporaryDirectory
    private let configuration: PartnerAPIServer.Configuration
    /// The client certificate the exchange knows (DER), for checking what it was given.
    let clientCertificateDER: [UInt8]

    init(exchange: FakeExchange = FakeExchange()) throws {
        self.exchange = exchange
        dir = TemporaryDirectory("claimgate-https-front-end")
        let from = Date().addingTimeInterval(-300), until = Date().addingTimeInterval(86_400)
        func authority(_ name: String) throws -> (certificate: Certificate, key: PrivateKey) {
            let key = try PrivateKey.generate(.p256)
            return (try CertificateIssuer.issue(.authority(name, organization: "Test", from: from, days: 1), for: key, issuer: nil), key)
        }
        func leaf(_ name: String, eku: String, sans: [String] = [], issuer: (certificate: Certificate, key: PrivateKey))
            throws -> (certificate: Certificate, key: PrivateKey) {
            let key = try PrivateKey.generate(.p256)
            let profile = CertificateProfile(commonName: name, organization: "Test", keyUsage: "critical,digitalSignature",
                                             extendedKeyUsage: eku, subjectAltNames: sans, notBefore: from, notAfter: until)
            return (try CertificateIssuer.issue(profile, for: key, issuer: issuer), key)
        }
        let gatewayCA = try authority("Test Gateway CA")
        let server = try leaf("localhost", eku: "serverAuth", sans: ["DNS:localhost", "IP:127.0.0.1"], issuer: gatewayCA)
        try dir.write("gateway-ca.pem", gatewayCA.certificate.pem)
        configuration = {
            var c = PartnerAPIServer.Configuration(certificateChainDER: [server.certificate.der, gatewayCA.certificate.der],
                                                   privateKeyPEM: Array((try! server.key.pkcs8PEM()).utf8))
            c.host = "127.0.0.1"
            c.port = 0
            c.blockingThreads = 4
            return c
        }()

        let partnerCA = try authority("ACME Test CA")
        let client = try leaf(Self.partner.rawValue, eku: "clientAuth", issuer: partnerCA)
        try dir.write("client.pem", client.certificate.pem)
        try dir.write("client.key", try client.key.pkcs8PEM())
        clientCertificateDER = client.certificate.der
        exchange.allowClientCertificate(client.certificate.der, for: Self.partner)

        // A client certificate from the same CA that the exchange was never told about.
        let stranger = try leaf("stranger", eku: "clientAuth", issuer: partnerCA)
        try dir.write("stranger.pem", stranger.certificate.pem)
        try dir.write("stranger.key", try stranger.key.pkcs8PEM())
    }

    /// Runs the server for the length of `body` (given its port), then shuts it down gracefully.
    /// Server and body run on a dedicated executor: the cooperative pool is shared with the
    /// synchronous tests of other suites, which block its threads while their peers run.
    func serve(_ body: (Int) async throws -> Void) async throws {
        try await withTaskExecutorPreference(DedicatedExecutor.shared) { try await serveHere(body) }
    }

    private func serveHere(_ body: (Int) async throws -> Void) async throws {
        var logger = Logger(label: "claimgate.test.https")
        logger.logLevel = .warning
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let server = PartnerAPIServer(configuration: configuration, exchange: exchange, logger: logger) { port in
            listening.yield(port)
        }
        let group = ServiceGroup(services: [server], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { listening.finish() }
                try await group.run()
            }
            var first = ports.makeAsyncIterator()
            guard let port = await first.next() else {
                try await tasks.waitForAll()   // the server stopped before it listened: its error
                Issue.record("the partner API stopped before it listened")
                return
            }
            do {
                try await body(port)
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Stock `curl` as the partner (or with another certificate), trusting the gateway CA; the
    /// response headers go to `headers.txt` in the test folder, the body to stdout.
    func curl(_ arguments: [String], certificate: String = "client") async throws -> Shell.Result {
        try await Shell.runDetached(["curl", "-sS", "--max-time", "20", "--cacert", dir.file("gateway-ca.pem"),
                                     "--cert", dir.file("\(certificate).pem"), "--key", dir.file("\(certificate).key"),
                                     "-D", dir.file("headers.txt")] + arguments)
    }

    /// The response headers of the last `curl`, names in lowercase.
    func headers() throws -> [String: String] {
        let text = try String(contentsOfFile: dir.file("headers.txt"), encoding: .utf8)
        var found: [String: String] = [:]
        for line in text.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            found[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return found
    }

    /// The status of the last `curl` (the last status line, so `100 Continue` does not count).
    func status() throws -> Int {
        let text = try String(contentsOfFile: dir.file("headers.txt"), encoding: .utf8)
        let line = text.split(separator: "\r\n").last { $0.hasPrefix("HTTP/") }
        return line.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
    }
}

extension PartnerAPIFrontEnd {
    /// Sends `request` as it is over a raw TLS connection with the partner's certificate (stock
    /// `openssl s_client`), and returns every byte the server sent until it closed.
    func rawTLS(port: Int, _ request: String, certificate: String = "client") async throws -> Data {
        let r = try await Shell.runDetached(["timeout", "20", "openssl", "s_client", "-quiet", "-verify_return_error",
                                             "-connect", "127.0.0.1:\(port)", "-CAfile", dir.file("gateway-ca.pem"),
                                             "-cert", dir.file("\(certificate).pem"), "-key", dir.file("\(certificate).key")],
                                            stdin: Data(request.utf8))
        return r.stdoutData
    }
}
