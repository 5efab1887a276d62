import ClaimGateTesting
import Foundation
import Testing

/// Bundles larger than what is sent from memory stream from the file in chunks: whole, resumed
/// and ranged downloads come back byte for byte, and each is recorded with the bytes served.
@Suite(.serialized) struct HTTPSLargeDownloadTests {
    @Test func aMultiChunkBundleDownloadsWholeAndByRangeExactly() throws {
        let g = try GatewayUnderTest("claimgate-https-large")
        try g.onboardStandardPartners(reference: "DSA-LARGE")
        // ~3 MiB of incompressible content: several 256 KiB chunks and an odd tail.
        var bytes = [UInt8](repeating: 0, count: 3 * 1_048_576 + 12_345)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13) }
        let doc = try g.dir.write("scan.pdf", Data("%PDF-1.4\n".utf8) + Data(bytes))
        let sent = try g.send(doc, to: GatewayUnderTest.httpsPartner, claim: "CLM-LARGE")
        try g.ok(sent.result)
        try g.serve()
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: g.home + "/outbox/" + GatewayUnderTest.httpsPartner)
            .first { $0.hasPrefix(sent.id) })
        let original = try Data(contentsOf: URL(fileURLWithPath: g.home + "/outbox/\(GatewayUnderTest.httpsPartner)/" + file))
        #expect(original.count > 3 * 1_048_576)

        try g.ok(g.curl(["-o", g.dir.file("whole.p7m"), g.url("/v1/bundles/\(sent.id)")]))
        #expect(try Data(contentsOf: URL(fileURLWithPath: g.dir.file("whole.p7m"))) == original)

        // A resume from an offset inside a chunk, and a range spanning chunk boundaries.
        let from = 1_000_003
        try g.ok(g.curl(["-H", "Range: bytes=\(from)-", "-o", g.dir.file("tail"), g.url("/v1/bundles/\(sent.id)")]))
        #expect(try Data(contentsOf: URL(fileURLWithPath: g.dir.file("tail"))) == original.dropFirst(from))
        let (a, b) = (262_000, 800_000)
        let ranged = try g.curl(["-H", "Range: bytes=\(a)-\(b)", "-o", g.dir.file("mid"), "-w", "%{http_code}", g.url("/v1/bundles/\(sent.id)")])
        #expect(ranged.stdout == "206")
        #expect(try Data(contentsOf: URL(fileURLWithPath: g.dir.file("mid"))) == original.subdata(in: a..<(b + 1)))

        // Recorded: the whole download complete with every byte, the ranges partial with theirs
        // (the end entries are committed within milliseconds of the response).
        var rows = ""
        for _ in 0..<50 {
            rows = try g.sql("SELECT outcome, bytes FROM event WHERE action = 'download' AND bundle_id = '\(sent.id)' AND outcome != 'started' ORDER BY seq")
            if rows.split(separator: "\n").count >= 3 { break }
            usleep(100_000)
        }
        #expect(rows.split(separator: "\n").map(String.init) == ["success|\(original.count)", "partial|\(original.count - from)", "partial|\(b - a + 1)"], "\(rows)")
        #expect(try g.sql("SELECT state FROM bundle WHERE id = '\(sent.id)'") == "downloaded")
    }
}
