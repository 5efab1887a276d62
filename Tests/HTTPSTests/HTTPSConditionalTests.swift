import ClaimGateCore
import ClaimGateTesting
import Foundation
@testable import HTTPS
import Testing

/// What HTTP clients rely on beyond a plain GET, driven by stock `curl`: `HEAD` (GET's status and
/// fields, no content, no download recorded), `Last-Modified` and `Content-Disposition`,
/// conditional requests (`If-None-Match`, `If-Modified-Since`: `304`, no download recorded;
/// `If-Range`), and a multipart form upload refused with `415` before anything is staged.
@Suite struct HTTPSConditionalTests {
    static let partner = PartnerAPIFrontEnd.partner
    /// A created time with a fraction of a second, which `Last-Modified` drops.
    static let created = Date(timeIntervalSince1970: 1_796_000_123.75)
    static let lastModified = "Mon, 30 Nov 2026 00:55:23 GMT"

    static func downloads(_ f: PartnerAPIFrontEnd) -> [FakeExchange.Call] {
        f.exchange.calls.filter { if case .startDownload = $0 { true } else { false } }
    }

    // MARK: HEAD

    @Test func headOfABundleHasGetsFieldsAndNoContentAndRecordsNoDownload() async throws {
        let f = try PartnerAPIFrontEnd()
        let e = try f.exchange.addBundle(for: Self.partner, contents: HTTPSFrontEndTests.contents(2_000), created: Self.created)
        let url = "/v1/bundles/\(e.bundleID)"
        try await f.serve { port in
            _ = try await f.curl(["https://127.0.0.1:\(port)\(url)", "-o", f.dir.file("got.p7m")])
            let get = try f.headers()
            #expect(f.exchange.waitUntil { $0.contains { $0.downloadEnd != nil } })
            let r = try await f.curl(["-I", "https://127.0.0.1:\(port)\(url)"])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == 200)
            let head = try f.headers()
            for field in ["content-length", "etag", "accept-ranges", "content-type", "last-modified", "content-disposition"] {
                #expect(head[field] != nil && head[field] == get[field], "\(field): \(head) vs \(get)")
            }
            #expect(head["content-length"] == "2000")
            #expect(head["last-modified"] == Self.lastModified)
            #expect(head["content-disposition"] == "attachment; filename=\"\(e.bundleID).p7m\"")
            #expect(head["etag"] == "\"\(try HTTPSFrontEndTests.sha256(e.filePath))\"")
            // A Range is ignored on a HEAD (range handling is defined for GET only).
            _ = try await f.curl(["-I", "-H", "Range: bytes=0-9", "https://127.0.0.1:\(port)\(url)"])
            #expect(try f.status() == 200)
            #expect(try f.headers()["content-length"] == "2000")

            // On one raw kept-alive connection: the HEAD answer has no body, so the GET after it is read intact.
            let raw = try await f.rawTLS(port: port, """
                HEAD \(url) HTTP/1.1\r
                Host: 127.0.0.1\r
                \r
                GET \(url) HTTP/1.1\r
                Host: 127.0.0.1\r
                Connection: close\r
                \r

                """)
            let text = String(decoding: raw, as: UTF8.self)
            let statuses = text.split(separator: "\r\n").filter { $0.hasPrefix("HTTP/1.1 ") }.map { String($0.prefix(12)) }
            #expect(statuses == ["HTTP/1.1 200", "HTTP/1.1 200"], "\(text.prefix(600))")
            #expect(raw.suffix(2_000) == HTTPSFrontEndTests.contents(2_000))
            #expect(raw.count < 2 * 2_000, "the HEAD sent no content")
        }
        #expect(Self.downloads(f).count == 2, "only the two GETs start a download: \(Self.downloads(f))")
        #expect(f.exchange.calls.filter { $0 == .bundle(e.bundleID, Self.partner) }.count == 3, "each HEAD checks availability")
        #expect(f.exchange.refusals.isEmpty)
        let heads = f.exchange.accesses.filter { $0.request == "HEAD /v1/bundles/:id" }
        #expect(heads.count == 3 && heads.allSatisfy { $0.status == "200" && $0.bytes == 0 && $0.operation == .other }, "\(heads)")
    }

    /// A HEAD of a bundle that is not the caller's is GET's `404`, recorded as GET's refusal is; a
    /// HEAD from a caller the session rule refuses is `403`, recorded.
    @Test func headOfAnUnavailableBundleIsNotFoundAndRecorded() async throws {
        let f = try PartnerAPIFrontEnd()
        let theirs = try f.exchange.addBundle(for: try PartnerID("st-marys-hospital"), contents: HTTPSFrontEndTests.contents(10))
        try await f.serve { port in
            for id in [theirs.bundleID.description, "not-a-bundle-id"] {
                let r = try await f.curl(["-I", "https://127.0.0.1:\(port)/v1/bundles/\(id)"])
                try #require(r.succeeded, "\(r.stderr)")
                #expect(try f.status() == 404)
                #expect(try f.headers()["content-type"] == "application/problem+json")
                #expect(try f.headers()["etag"] == nil)
            }
            f.exchange.sessionRefusal = Refusal(.partnerSuspended, "refused by the test")
            _ = try await f.curl(["-I", "https://127.0.0.1:\(port)/v1/bundles/\(theirs.bundleID)"])
            #expect(try f.status() == 403)
        }
        let refusals = f.exchange.refusals
        #expect(refusals.map(\.reason) == [.bundleUnavailable, .bundleUnavailable, .partnerSuspended])
        #expect(refusals.map(\.subject) == [theirs.bundleID.description, "not-a-bundle-id", nil])
        #expect(refusals.map(\.action) == [.accessRefused, .accessRefused, .loginRefused])
        #expect(Self.downloads(f).isEmpty)
    }

    /// A HEAD of the list is recorded as a listing, like GET: its `Content-Length` is the length
    /// of the listing, which tells a poller that bundles came or went.
    @Test func headOfTheListIsGetsAnswerWithoutContentAndRecordsTheListing() async throws {
        let f = try PartnerAPIFrontEnd()
        try f.exchange.addBundle(for: Self.partner, contents: HTTPSFrontEndTests.contents(100))
        try await f.serve { port in
            let get = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles"])
            let r = try await f.curl(["-I", "https://127.0.0.1:\(port)/v1/bundles"])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == 200)
            #expect(try f.headers()["content-type"] == "application/json")
            #expect(try f.headers()["content-length"] == "\(get.stdoutData.count)")
        }
        #expect(f.exchange.calls.filter { $0 == .listOutbox(Self.partner) }.count == 2)
        #expect(f.exchange.accesses.contains { $0.request == "HEAD /v1/bundles" && $0.operation == .list && $0.bytes == 0 })
    }

    // MARK: Conditional requests

    struct Conditional: Sendable, CustomStringConvertible {
        let headers: [String]
        let notModified: Bool
        var description: String { headers.joined(separator: " ") }
    }

    static let etag = "(etag)"

    static let conditionals: [Conditional] = [
        Conditional(headers: ["If-None-Match: \(etag)"], notModified: true),
        Conditional(headers: ["If-None-Match: W/\(etag)"], notModified: true),
        Conditional(headers: ["If-None-Match: \"abc\", \(etag)"], notModified: true),
        Conditional(headers: ["If-None-Match: *"], notModified: true),
        Conditional(headers: ["If-None-Match: \"abc\""], notModified: false),
        Conditional(headers: ["If-Modified-Since: \(lastModified)"], notModified: true),
        Conditional(headers: ["If-Modified-Since: Monday, 30-Nov-26 00:55:23 GMT"], notModified: true),
        Conditional(headers: ["If-Modified-Since: Mon, 30 Nov 2026 00:55:22 GMT"], notModified: false),
        Conditional(headers: ["If-Modified-Since: yesterday"], notModified: false),
        // If-None-Match decides; If-Modified-Since is not looked at.
        Conditional(headers: ["If-None-Match: \"abc\"", "If-Modified-Since: \(lastModified)"], notModified: false),
    ]

    @Test(arguments: conditionals)
    func aConditionalGetIsNotModifiedWhenItsValidatorsMatch(_ c: Conditional) async throws {
        let f = try PartnerAPIFrontEnd()
        let bytes = HTTPSFrontEndTests.contents(5_000)
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes, created: Self.created)
        let etag = "\"\(try HTTPSFrontEndTests.sha256(e.filePath))\""
        try await f.serve { port in
            let headers = c.headers.flatMap { ["-H", $0.replacingOccurrences(of: Self.etag, with: etag)] }
            for head in [false, true] {
                let r = try await f.curl((head ? ["-I"] : ["-o", f.dir.file("got.p7m")]) + headers
                                         + ["https://127.0.0.1:\(port)/v1/bundles/\(e.bundleID)"])
                try #require(r.succeeded, "\(r.stderr)")
                #expect(try f.status() == (c.notModified ? 304 : 200), "head: \(head)")
                #expect(try f.headers()["etag"] == etag)
                if !head {
                    let got = FileManager.default.contents(atPath: f.dir.file("got.p7m")) ?? Data()
                    #expect(got == (c.notModified ? Data() : bytes))
                    try? FileManager.default.removeItem(atPath: f.dir.file("got.p7m"))
                }
            }
            if !c.notModified { #expect(f.exchange.waitUntil { $0.contains { $0.downloadEnd != nil } }) }
        }
        #expect(Self.downloads(f).count == (c.notModified ? 0 : 1), "a 304 records no download: \(Self.downloads(f))")
        #expect(f.exchange.refusals.isEmpty)
    }

    /// The curl recipes of docs/https.md: `-C -` resumes a partial file, `-z FILE` asks for the
    /// bundle only if it is newer than the local file (it is not: `304`, the file kept), `-z DATE`
    /// before the bundle was created gets it.
    @Test func curlResumesAndAsksOnlyForANewerBundle() async throws {
        let f = try PartnerAPIFrontEnd()
        let bytes = HTTPSFrontEndTests.contents(300_000)
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes, created: Self.created)
        let file = f.dir.file("\(e.bundleID).p7m")
        try f.dir.write("\(e.bundleID).p7m", bytes.prefix(100_000))
        try await f.serve { port in
            let url = "https://127.0.0.1:\(port)/v1/bundles/\(e.bundleID)"
            let resumed = try await f.curl(["-C", "-", "-o", file, url])
            try #require(resumed.succeeded, "\(resumed.stderr)")
            #expect(try f.status() == 206)
            #expect(FileManager.default.contents(atPath: file) == bytes)
            let again = try await f.curl(["-z", file, "-o", file, url])
            try #require(again.succeeded, "\(again.stderr)")
            #expect(try f.status() == 304)
            #expect(FileManager.default.contents(atPath: file) == bytes, "the file is kept")
            _ = try await f.curl(["-z", "Sat, 28 Nov 2026 00:00:00 GMT", "-o", f.dir.file("got.p7m"), url])
            #expect(try f.status() == 200)
            #expect(FileManager.default.contents(atPath: f.dir.file("got.p7m")) == bytes)
            #expect(f.exchange.waitUntil { $0.filter { $0.downloadEnd != nil }.count == 2 })
        }
        #expect(Self.downloads(f) == [.startDownload(e.bundleID, Self.partner, .started(offset: 100_000)),
                                      .startDownload(e.bundleID, Self.partner, .started(offset: 0))])
    }

    /// Preconditions come after the session rule and the availability check: a bundle that is not
    /// the caller's is `404` and recorded, whatever `If-None-Match` says.
    @Test func aConditionalGetOfAnUnavailableBundleIsNotFoundAndRecorded() async throws {
        let f = try PartnerAPIFrontEnd()
        let theirs = try f.exchange.addBundle(for: try PartnerID("st-marys-hospital"), contents: HTTPSFrontEndTests.contents(10))
        try await f.serve { port in
            _ = try await f.curl(["-H", "If-None-Match: *", "https://127.0.0.1:\(port)/v1/bundles/\(theirs.bundleID)"])
            #expect(try f.status() == 404)
            f.exchange.sessionRefusal = Refusal(.agreementEnded, "refused by the test")
            _ = try await f.curl(["-H", "If-None-Match: *", "https://127.0.0.1:\(port)/v1/bundles/\(theirs.bundleID)"])
            #expect(try f.status() == 403)
        }
        #expect(f.exchange.refusals.map(\.reason) == [.bundleUnavailable, .agreementEnded])
    }

    struct IfRange: Sendable, CustomStringConvertible {
        let value: String
        let honoured: Bool
        var description: String { value }
    }

    @Test(arguments: [
        IfRange(value: etag, honoured: true),
        IfRange(value: "W/\(etag)", honoured: false),   // strong comparison
        IfRange(value: "\"abc\"", honoured: false),
        IfRange(value: lastModified, honoured: true),
        IfRange(value: "Mon, 30 Nov 2026 00:55:24 GMT", honoured: false),   // an exact match only
        IfRange(value: "garbage", honoured: false),
    ])
    func ifRangeHonoursTheRangeOnlyForThisBundle(_ c: IfRange) async throws {
        let f = try PartnerAPIFrontEnd()
        let bytes = HTTPSFrontEndTests.contents(5_000)
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes, created: Self.created)
        let etag = "\"\(try HTTPSFrontEndTests.sha256(e.filePath))\""
        try await f.serve { port in
            let r = try await f.curl(["-H", "Range: bytes=1000-", "-H", "If-Range: \(c.value.replacingOccurrences(of: Self.etag, with: etag))",
                                      "-o", f.dir.file("got.p7m"), "https://127.0.0.1:\(port)/v1/bundles/\(e.bundleID)"])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == (c.honoured ? 206 : 200))
            #expect(FileManager.default.contents(atPath: f.dir.file("got.p7m")) == (c.honoured ? bytes.subdata(in: 1_000..<5_000) : bytes))
            #expect(f.exchange.waitUntil { $0.contains { $0.downloadEnd != nil } })
        }
        #expect(Self.downloads(f) == [.startDownload(e.bundleID, Self.partner, .started(offset: c.honoured ? 1_000 : 0))])
    }

    // MARK: Multipart uploads

    @Test func aMultipartUploadIsRefusedWith415AndNothingIsStaged() async throws {
        let f = try PartnerAPIFrontEnd()
        try f.dir.write("report.p7m", HTTPSFrontEndTests.contents(20_000, seed: 3))
        // Larger than curl sends without `Expect: 100-continue`, and than the exchange accepts:
        // refused before any of it is read, whatever its size.
        try f.dir.write("scan.pdf", HTTPSFrontEndTests.contents(3 << 20, seed: 4))
        try await f.serve { port in
            let small = try await f.curl(["-F", "file=@" + f.dir.file("report.p7m"), "https://127.0.0.1:\(port)/v1/inbox"])
            try #require(small.succeeded, "\(small.stderr)")
            #expect(try f.status() == 415)
            let r = try await f.curl(["-F", "file=@" + f.dir.file("scan.pdf"), "https://127.0.0.1:\(port)/v1/inbox"])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == 415)
            #expect(try f.headers()["content-type"] == "application/problem+json")
            let p = try HTTPSFrontEndTests.problem(r)
            #expect(p.status == 415 && p.title == "Unsupported Media Type")
            #expect(p.detail.contains("curl --data-binary @report.p7m -H 'Content-Type: application/pkcs7-mime'"), "\(p.detail)")
            // The same file sent raw is accepted.
            let ok = try await f.curl(["--data-binary", "@" + f.dir.file("report.p7m"), "-H", "Content-Type: application/pkcs7-mime",
                                       "https://127.0.0.1:\(port)/v1/inbox"])
            #expect(try f.status() == 201, "\(ok.stdout)")
        }
        let begun = f.exchange.calls.filter { if case .beginUpload = $0 { true } else { false } }
        #expect(begun.count == 1, "only the raw upload was staged: \(begun)")
        #expect(f.exchange.uploads(of: Self.partner).count == 1)
        let refusals = f.exchange.refusals
        #expect(refusals.map(\.reason) == [.operationRefused, .operationRefused])
        #expect(refusals.map(\.subject) == ["multipart upload", "multipart upload"])
        #expect(refusals.map(\.action) == [.upload, .upload])
        #expect(refusals.allSatisfy { $0.partner == Self.partner })
    }

    // MARK: Parsing

    @Test func httpDatesAreWrittenAsIMFFixdateAndReadInAllThreeForms() {
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(Self.created) == Self.lastModified)
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 GMT")
        let expected = Date(timeIntervalSince1970: 784_111_777)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == expected)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 CET") == nil)
        #expect(HTTPDate.parse("Sun, 06 Foo 1994 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 25:49:37 GMT") == nil)
        #expect(HTTPDate.parse("1994-11-06T08:49:37Z") == nil)
        #expect(HTTPDate.parse("") == nil)
    }

    @Test func entityTagListsAreReadAsRFC9110Says() {
        typealias C = ConditionalRequest
        #expect(C.entityTags("\"a\", W/\"b\" ,,\"c\"")?.map(\.opaque) == ["a", "b", "c"])
        #expect(C.entityTags("W/\"b\"")?.map(\.weak) == [true])
        #expect(C.entityTags("a") == nil)
        #expect(C.entityTags("\"a\" \"b\"") == nil)
        #expect(C.entityTags("\"a") == nil)
        #expect(C.entityTags("") == nil)
        let lm = Self.created
        #expect(C(ifNoneMatch: "\"x\"").notModified(etag: "\"x\"", lastModified: lm))
        #expect(!C(ifNoneMatch: "x").notModified(etag: "\"x\"", lastModified: lm))
        #expect(!C(ifRange: "W/\"x\"").rangeApplies(etag: "\"x\"", lastModified: lm))
        #expect(C().rangeApplies(etag: "\"x\"", lastModified: lm))
        #expect(!C(ifRange: "\"x\"").needsValidators(range: false))
        #expect(C(ifRange: "\"x\"").needsValidators(range: true))
    }
}
