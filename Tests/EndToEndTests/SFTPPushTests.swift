import ClaimGateTesting
import Foundation
import Testing

/// `claimgate send` pushing to a stock OpenSSH sshd started by the test.
@Suite(.serialized) struct SFTPPushTests {
    final class Setup: GatewayUnderTest, @unchecked Sendable {
        /// The partner's sshd, which lets the gateway's SSH client key in (not started).
        private(set) var sshd: OpenSSHServer!
        private(set) var document = ""

        /// - Parameter pin: the host key pin to put in the agreement (the server's own by default).
        init(pin: String? = nil) throws {
            try super.init("claimgate-push")
            let clientKey = try ClaimgateBinary.run(["identity", "--ssh-client", "--home", home]).stdout
            sshd = try OpenSSHServer(authorizedKeys: [clientKey.trimmingCharacters(in: .whitespacesAndNewlines)])
            let target = "{host: 127.0.0.1, port: \(sshd.port), user: root, path: \(sshd.inbound), host_key: \"\(pin ?? sshd.hostKeyPin)\"}"
            try onboard(Fixtures.agreement(id: "acme-assessors", name: "ACME", role: "assessor", pki: pki, reference: "DSA-PUSH",
                                           delivery: "{push: {sftp: \(target)}}"))
            document = try dir.write("report.pdf", "%PDF-1.4\n" + String(repeating: "assessment ", count: 100_000))
        }

        func send() throws -> (id: String, result: Shell.Result) {
            try send(document, to: "acme-assessors", claim: "CLM-3", lifetime: ["--ttl", "3d"])
        }
    }

    @Test func sendPushesTheBundleUnderItsFinalNameAndLeavesNoTemporaryFile() throws {
        let s = try Setup()
        try s.sshd.start()
        let (id, r) = try s.send()
        #expect(r.succeeded, "\(r.stderr)")
        #expect(r.stderr.contains("delivered to sftp://root@127.0.0.1:\(s.sshd.port)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.sshd.inbound) == ["\(id).p7m"])
        #expect(FileManager.default.contents(atPath: "\(s.sshd.inbound)/\(id).p7m")
                == FileManager.default.contents(atPath: "\(s.home)/outbox/acme-assessors/\(id).p7m"))
        #expect(try s.delivery(id)["state"] as? String == "delivered")
        let show = try ClaimgateBinary.run(["bundle", "show", id, "--home", s.home])
        #expect(show.stdout.contains("state    delivered"))
        #expect(show.stdout.contains("delivery  success"))
    }

    @Test func aWrongHostKeyPinSendsNothing() throws {
        let s = try Setup(pin: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
        try s.sshd.start()
        let (id, r) = try s.send()
        #expect(r.succeeded, "the bundle is sealed and queued; the delivery failed")
        #expect(r.stderr.contains("host key"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.sshd.inbound).isEmpty)
        let d = try s.delivery(id)
        #expect(d["state"] as? String == "failed")
        #expect(d["last_error_code"] as? String == "host-key-mismatch")
    }

    @Test func aDeliveryToAServerThatIsDownIsRetriedByServe() throws {
        let s = try Setup()
        let (id, r) = try s.send()   // sshd not started yet
        #expect(r.succeeded)
        #expect(r.stderr.contains("serve"))
        var d = try s.delivery(id)
        #expect(d["state"] as? String == "pending")
        #expect(d["attempts"] as? Int == 1)
        #expect(d["last_error_code"] as? String == "connect-failed")

        try s.sshd.start()
        let serve = try s.serve(extra: ["--retry-base", "1"])
        d = try s.waitDelivered(id)
        #expect(d["state"] as? String == "delivered", "\(d) \(serve.text)")
        #expect((d["attempts"] as? Int ?? 0) >= 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.sshd.inbound) == ["\(id).p7m"])
        #expect(serve.stop() == 0)
    }
}

extension SFTPPushTests {
    /// Large bundles go over several connections at once; the result is the same single file.
    @Test func aLargeBundleArrivesCompleteOverParallelConnections() throws {
        let s = try Setup()
        try s.sshd.start()
        var big = Data("%PDF-1.7\n".utf8)
        big.append(Data((0..<(70 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }))
        let document = try s.dir.write("scan.pdf", big)
        let (id, r) = try s.send(document, to: "acme-assessors", claim: "CLM-4", lifetime: ["--ttl", "3d"])
        try #require(r.succeeded, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.sshd.inbound) == ["\(id).p7m"])
        let pushed = try s.sha256("\(s.sshd.inbound)/\(id).p7m")
        let local = try s.sha256("\(s.home)/outbox/acme-assessors/\(id).p7m")
        #expect(pushed == local)
        #expect(try s.delivery(id)["state"] as? String == "delivered")
    }
}
