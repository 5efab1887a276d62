import ClaimGateTesting
import Foundation
import Testing

/// A flood of failed SFTP logins is recorded, but not one durable entry each without bound: the
/// first 100 of a minute one by one, the rest as one counted entry (written at the latest when
/// serve stops).
@Suite(.serialized) struct SFTPLoginFloodTests {
    @Test func refusedLoginsPastTheBurstAreRecordedAsOneCountedEntry() throws {
        let g = try GatewayUnderTest("claimgate-sftp-flood")
        try g.onboardStandardPartners(reference: "DSA-FLOOD")
        let server = try g.serve()
        let stranger = g.dir.file("stranger")
        try g.ok(try Shell.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger]))
        let attempts = 112
        let r = try Shell.bash("""
            for i in $(seq \(attempts)); do
              ssh -p \(g.sftpPort) -i '\(stranger)' -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
                  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR acme-assessors@127.0.0.1 true </dev/null && echo "logged in?!"
            done; true
            """)
        #expect(!r.stdout.contains("logged in"))
        _ = server.stop()
        let rows = try g.sql("SELECT reason FROM event WHERE action = 'login-refused' AND transport = 'sftp' ORDER BY seq")
            .split(separator: "\n").map(String.init)
        let single = rows.filter { !$0.hasPrefix("login-flood:") }
        let counted = rows.filter { $0.hasPrefix("login-flood:") }
        #expect(single.count == 100, "\(rows.count) rows")
        #expect(counted.count == 1)
        #expect(counted.first?.hasPrefix("login-flood: \(attempts - 100) more refused logins") == true, "\(counted)")
        #expect(try ClaimgateBinary.run(["audit", "verify", "--home", g.home]).succeeded)
    }
}
