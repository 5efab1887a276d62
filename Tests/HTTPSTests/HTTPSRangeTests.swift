import ClaimGateCore
import ClaimGateTesting
import Foundation
@testable import HTTPS
import Testing

/// `Range` headers as RFC 9110 §14 reads them: a range the routes do not serve (another unit,
/// bad syntax, several ranges) is ignored and the whole bundle sent with `200`; a suffix or an
/// end past the file is cut to the file (`206` with the full range, as nginx answers); only a
/// satisfiable-looking but unsatisfiable range is `416`. What the exchange is told (the offset
/// a download starts at, the bytes served, whether the whole file went out) follows what was
/// actually sent.
@Suite struct HTTPSRangeTests {
    static let partner = PartnerAPIFrontEnd.partner
    static let size = HTTPSFrontEndTests.bundleSize
    typealias Download = HTTPSFrontEndTests.Download

    static let whole = 0..<size

    @Test(arguments: [
        // Ignored: the whole file, 200, a complete download.
        Download(range: "items=0-1", status: 200, served: whole, complete: true),
        Download(range: "bytes=abc", status: 200, served: whole, complete: true),
        Download(range: "bytes=5-2", status: 200, served: whole, complete: true),
        Download(range: "bytes=99999999999999999999-5", status: 200, served: whole, complete: true),
        Download(range: "bytes=0-1,5-6", status: 200, served: whole, complete: true),
        Download(range: "bytes=0-1, -5", status: 200, served: whole, complete: true),
        Download(range: "bytes=", status: 200, served: whole, complete: true),
        Download(range: "bytes=-", status: 200, served: whole, complete: true),
        Download(range: "bytes=1-2-3", status: 200, served: whole, complete: true),
        Download(range: "bytes=+1-2", status: 200, served: whole, complete: true),
        Download(range: "bytes 0-1", status: 200, served: whole, complete: true),
        // Cut to the file: 206 with the whole file's range, a complete download.
        Download(range: "bytes=-999999999", status: 206, served: whole, complete: true),
        Download(range: "bytes=-99999999999999999999999", status: 206, served: whole, complete: true),
        Download(range: "bytes=0-99999999999999999999999", status: 206, served: whole, complete: true),
        // Spelled freely: the unit is case-insensitive, empty list elements do not count.
        Download(range: "BYTES=100-199", status: 206, served: 100..<200, complete: false),
        Download(range: "bytes=100-199,", status: 206, served: 100..<200, complete: false),
        Download(range: "bytes=\(size - 1)-", status: 206, served: (size - 1)..<size, complete: false),
    ])
    func aRangeIsServedOrIgnoredAsRFC9110Says(_ d: Download) async throws {
        let f = try PartnerAPIFrontEnd()
        let bytes = HTTPSFrontEndTests.bundle
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes)
        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles/\(e.bundleID)", "-o", f.dir.file("got.p7m"),
                                      "-H", "Range: \(d.range!)"])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == d.status)
            #expect(FileManager.default.contents(atPath: f.dir.file("got.p7m")) == bytes.subdata(in: d.served))
            let headers = try f.headers()
            #expect(headers["accept-ranges"] == "bytes")
            #expect(headers["content-length"] == "\(d.served.count)")
            #expect(headers["content-range"] == (d.status == 206 ? "bytes \(d.served.lowerBound)-\(d.served.upperBound - 1)/\(Self.size)" : nil))
            #expect(f.exchange.waitUntil { $0.contains { $0.downloadEnd != nil } }, "the end of the download is recorded")
        }
        let calls = f.exchange.calls
        #expect(calls.contains(.startDownload(e.bundleID, Self.partner, .started(offset: Int64(d.served.lowerBound)))), "\(calls)")
        #expect(calls.filter { $0.downloadEnd != nil } == [.downloadEnded(e.bundleID, Self.partner, bytes: Int64(d.served.count), complete: d.complete)])
    }

    @Test(arguments: ["bytes=\(size)-", "bytes=5000000-6000000", "bytes=-0", "bytes=99999999999999999999-"])
    func anUnsatisfiableRangeIs416AndNoDownload(_ range: String) async throws {
        let f = try PartnerAPIFrontEnd()
        let e = try f.exchange.addBundle(for: Self.partner, contents: HTTPSFrontEndTests.bundle)
        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles/\(e.bundleID)", "-H", "Range: \(range)"])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == 416)
            #expect(try f.headers()["content-range"] == "bytes */\(Self.size)")
            #expect(r.stdoutData.count < 1_000, "no bundle bytes")
        }
        #expect(f.exchange.calls.contains(.startDownload(e.bundleID, Self.partner, .unsatisfiable)))
        #expect(f.exchange.calls.compactMap(\.downloadEnd).isEmpty)
    }

    /// Range parsing on its own, for the cases curl cannot send (it trims the header).
    @Test func theRangeParserReadsOneRangeOrNone() {
        typealias R = RangeRequest
        #expect(R.parse(" bytes = 1-2 ", size: 10) == .range(1...2))
        #expect(R.parse("bytes=\t-3", size: 10) == .range(7...9))
        #expect(R.parse("bytes=1-2", size: 0) == .unsatisfiable)
        #expect(R.parse("bytes=abc", size: 0) == .whole)
        #expect(R.parse("bytes=-5", size: 3) == .range(0...2))
        #expect(R.parse("bytes=9-", size: 10) == .range(9...9))
        #expect(R.parse("bytes=10-", size: 10) == .unsatisfiable)
    }
}
