import ClaimGateTesting
import Foundation
import Testing

/// `claimgate send` pushing to a stock OpenSSH sshd started by the test.
@Suite(.serialized) struct SFTPPushTests {
    final class Setup: @unchecked Sendable {
        let dir = TemporaryDirectory("claimgate-push")
        var home: String { dir.path + "/home" }
        let sshd: OpenSSHServer
        let document: String

        /// - Parameter pin: the host key pin to put in the agreement (the server's own by default).
        init(pin: String? = nil) throws {
            try #require(try ClaimgateBinary.run(["dev-pki", "--out", dir.path + "/pki"]).succeeded)
            try #require(try ClaimgateBinary.run(["init", "--home", dir.path + "/home"]).succeeded)
            let clientKey = try ClaimgateBinary.run(["identity", "--ssh-client", "--home", dir.path + "/home"]).stdout
            sshd = try OpenSSHServer(authorizedKeys: [clientKey.trimmingCharacters(in: .whitespacesAndNewlines)])
            let yaml = """
            id: acme-assessors
            name: ACME
            role: assessor
            agreement: {reference: DSA-PUSH, purposes: [claim-assessment], document_types: [application/pdf], max_retention_days: 30, valid_until: 2099-01-01}
            certificates: {encryption: \(dir.path)/pki/acme-assessors/encryption.pem, trust_anchor: \(dir.path)/pki/acme-assessors/ca.pem}
            delivery:
              push:
                sftp: {host: 127.0.0.1, port: \(sshd.port), user: root, path: \(sshd.inbound), host_key: "\(pin ?? sshd.hostKeyPin)"}
            """
            try #require(try ClaimgateBinary.run(["partner", "add", try dir.write("acme.yaml", yaml), "--home", dir.path + "/home"]).succeeded)
            document = try dir.write("report.pdf", "%PDF-1.4\n" + String(repeating: "assessment ", count: 100_000))
        }

        func send() throws -> (id: String, result: Shell.Result) {
            let r = try ClaimgateBinary.run(["send", "--home", home, "--partner", "acme-assessors", "--claim", "CLM-3",
                                             "--purpose", "claim-assessment", "--ttl", "3d", document])
            return (r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), r)
        }

        func delivery(_ id: String) throws -> [String: Any] {
            let r = try ClaimgateBinary.run(["deliveries", "--home", home, "--json"])
            let list = try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]] ?? []
            return list.first { $0["bundle"] as? String == id } ?? [:]
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
        let serve = try ServerProcess([ClaimgateBinary.path, "serve", "--home", s.home, "--sftp", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--retry-base", "1"],
                                      logPath: s.dir.file("serve.log"))
        _ = try serve.waitFor("sftp: listening")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try s.delivery(id))["state"] as? String != "delivered" { usleep(200_000) }
        d = try s.delivery(id)
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
        let r = try ClaimgateBinary.run(["send", "--home", s.home, "--partner", "acme-assessors", "--claim", "CLM-4",
                                         "--purpose", "claim-assessment", "--ttl", "3d", document])
        try #require(r.succeeded, "\(r.stderr)")
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.sshd.inbound) == ["\(id).p7m"])
        let pushed = try Shell.run(["sha256sum", "\(s.sshd.inbound)/\(id).p7m"]).stdout.prefix(64)
        let local = try Shell.run(["sha256sum", "\(s.home)/outbox/acme-assessors/\(id).p7m"]).stdout.prefix(64)
        #expect(pushed == local)
        #expect(try s.delivery(id)["state"] as? String == "delivered")
    }
}
