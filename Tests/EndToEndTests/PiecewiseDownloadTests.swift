import ClaimGateTesting
import Foundation
import Testing

/// A bundle fetched in pieces, at once or one after another (rclone's multi-thread download over
/// several SFTP handles, ranged HTTPS requests), is recorded as downloaded once every byte has
/// been sent to the partner: each piece is a partial download, and the one that completes the
/// set is the whole download.
@Suite(.serialized) struct PiecewiseDownloadTests {
    /// A bundle of about `mib` MiB of random content (not compressible), sent to `partner`.
    static func bigBundle(_ g: GatewayUnderTest, to partner: String, mib: Int) throws -> String {
        let doc = g.dir.file("big.pdf")
        var data = Data("%PDF-1.4\n".utf8)
        data.append(Data((0..<(mib << 20)).map { _ in UInt8.random(in: 0...255) }))
        try data.write(to: URL(fileURLWithPath: doc))
        let (id, r) = try g.send(doc, to: partner, claim: "CLM-PIECES")
        try g.ok(r)
        return id
    }

    @Test func rcloneMultiThreadDownloadOverSFTPIsRecordedAsDownloaded() throws {
        let g = try GatewayUnderTest("claimgate-pieces-sftp")
        try g.onboardStandardPartners(reference: "DSA-PIECES")
        let id = try Self.bigBundle(g, to: GatewayUnderTest.sftpPartner, mib: 6)
        try g.serve()
        let remote = ":sftp,host=127.0.0.1,port=\(g.sftpPort),user=\(GatewayUnderTest.sftpPartner),key_file=\(g.pki)/\(GatewayUnderTest.sftpPartner)/ssh_ed25519,known_hosts_file=\(g.dir.path)/known_hosts:"
        let r = try Shell.run(["timeout", "120", "rclone", "copy", "-q", "--multi-thread-streams", "4", "--multi-thread-cutoff", "1M",
                               remote + "/outbox", g.dir.file("got")], environment: ["RCLONE_CONFIG": g.dir.file("rclone.conf")])
        try g.ok(r)
        #expect(try g.sha256(g.dir.file("got/\(id).p7m")) == g.sha256("\(g.home)/outbox/\(GatewayUnderTest.sftpPartner)/\(id).p7m"))
        let partial = Int(try g.sql("SELECT count(*) FROM event WHERE action = 'download' AND outcome = 'partial' AND bundle_id = '\(id)'")) ?? 0
        #expect(partial >= 1, "rclone fetched it in several pieces")
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, try g.sql("SELECT state FROM bundle WHERE id = '\(id)'") != "downloaded" { usleep(100_000) }
        #expect(try g.sql("SELECT state FROM bundle WHERE id = '\(id)'") == "downloaded")
        #expect(try g.sql("SELECT count(*) FROM event WHERE action = 'download' AND outcome = 'success' AND bundle_id = '\(id)'") == "1")
        _ = g.server?.stop()
        try g.ok(ClaimgateBinary.run(["audit", "verify", "--home", g.home]))
    }

    @Test func rangedHTTPSRequestsThatCoverTheFileAreRecordedAsDownloaded() throws {
        let g = try GatewayUnderTest("claimgate-pieces-https")
        try g.onboardStandardPartners(reference: "DSA-PIECES")
        let id = try Self.bigBundle(g, to: GatewayUnderTest.httpsPartner, mib: 1)
        try g.serve()
        let size = Int(try g.sql("SELECT file_size FROM bundle WHERE id = '\(id)'"))!
        let half = size / 2
        try g.ok(g.curl(["-sS", "-r", "\(half)-", "-o", g.dir.file("b"), g.url("/v1/bundles/\(id)")]))
        usleep(300_000)
        #expect(try g.sql("SELECT state FROM bundle WHERE id = '\(id)'") == "queued", "half a file is not a download")
        try g.ok(g.curl(["-sS", "-r", "0-\(half - 1)", "-o", g.dir.file("a"), g.url("/v1/bundles/\(id)")]))
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, try g.sql("SELECT state FROM bundle WHERE id = '\(id)'") != "downloaded" { usleep(100_000) }
        #expect(try g.sql("SELECT state FROM bundle WHERE id = '\(id)'") == "downloaded")
        let outcomes = try g.sql("SELECT outcome FROM event WHERE action = 'download' AND outcome != 'started' AND bundle_id = '\(id)' ORDER BY seq")
        #expect(outcomes == "partial\nsuccess", "\(outcomes)")
    }
}
