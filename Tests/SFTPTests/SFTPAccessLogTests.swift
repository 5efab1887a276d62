import ClaimGateCore
import ClaimGateTesting
import Foundation
import Testing

/// Every SFTP file operation reaches the access log once: a listing, a download from open to
/// close (bytes, whole or partial), an upload, a refused request (with the refusal's code).
@Suite struct SFTPAccessLogTests {
    static let partner = SFTPFrontEnd.partner

    @Test func listingsDownloadsUploadsAndRefusalsAreEachOneAccessRecord() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let bytes = SFTPFrontEndTests.contents(300_000)
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes)
        try f.dir.write("report.p7m", "not really a report")

        let r = try f.sftp("ls /outbox\nget /outbox/\(e.name) got.p7m\nput report.p7m /inbox/report.p7m\n-rm /outbox/\(e.name)")
        try #require(r.succeeded, "\(r.stderr)")

        let download = try #require(f.exchange.waitForAccess { $0.operation == .download })
        #expect(download.partner == Self.partner)
        #expect(download.transport == .sftp)
        #expect(download.bundleID == e.bundleID)
        #expect(download.bytes == Int64(bytes.count))
        #expect(download.status == "ok")
        #expect(download.duration >= .zero)
        #expect(download.clientAddress.hasPrefix("127.0.0.1"))

        let upload = try #require(f.exchange.waitForAccess { $0.operation == .upload })
        #expect(upload.bytes == Int64("not really a report".utf8.count))
        #expect(upload.status == "ok")

        let list = try #require(f.exchange.waitForAccess { $0.operation == .list })
        #expect(list.status == "ok")
        let login = try #require(f.exchange.waitForAccess { $0.operation == .login })
        #expect(login.partner == Self.partner)

        let removal = try #require(f.exchange.waitForAccess { $0.request == "remove" })
        #expect(removal.status == Refusal.Reason.operationRefused.rawValue)
        #expect(removal.operation == .other)
        // One line per operation, not per packet: a 300 KB download is one record.
        #expect(f.exchange.accesses.filter { $0.operation == .download }.count == 1)
    }

    @Test func aDownloadCutShortIsPartial() throws {
        let f = try SFTPFrontEnd()
        defer { f.stop() }
        let e = try f.exchange.addBundle(for: Self.partner, contents: SFTPFrontEndTests.contents(600_000))
        // `reget` from an offset reads only the tail: not the whole file in this handle.
        let head = SFTPFrontEndTests.contents(600_000).prefix(400_000)
        try head.write(to: URL(fileURLWithPath: f.dir.file("part.p7m")))
        let r = try f.sftp("reget /outbox/\(e.name) part.p7m")
        try #require(r.succeeded, "\(r.stderr)")
        let download = try #require(f.exchange.waitForAccess { $0.operation == .download })
        #expect(download.status == "partial")
        #expect(download.bytes == 200_000)
    }
}
