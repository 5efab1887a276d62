import ClaimGateCore
import ClaimGateTesting
import Foundation
import Testing

/// The HTTPS front end on its own: `PartnerAPIServer` talking to a `FakeExchange`, driven by
/// stock `curl` with a client certificate. Each test checks what curl got and what the routes
/// asked the exchange for and recorded; the rules themselves are the fake's.
@Suite struct HTTPSFrontEndTests {
    static let partner = PartnerAPIFrontEnd.partner

    /// Bytes that are not all alike, so a misplaced range shows.
    static func contents(_ count: Int, seed: UInt8 = 7) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ $0 >> 8) })
    }

    static func sha256(_ path: String) throws -> String {
        String(try Shell.run(["sha256sum", path]).stdout.prefix(64))
    }

    /// An RFC 9457 problem document.
    struct Problem: Decodable, Equatable { let type: String; let title: String; let status: Int; let detail: String }

    static func problem(_ r: Shell.Result) throws -> Problem {
        try JSONDecoder().decode(Problem.self, from: r.stdoutData)
    }

    // MARK: Listing

    struct Listed: Decodable, Equatable { let id, claim_id, purpose, created, expires, sha256: String; let size: Int64 }

    @Test func listingShowsExactlyWhatTheExchangeLists() async throws {
        let f = try PartnerAPIFrontEnd()
        let a = try f.exchange.addBundle(for: Self.partner, contents: Self.contents(1_234), claimID: "CLM-A", purpose: "claim-assessment")
        let b = try f.exchange.addBundle(for: Self.partner, contents: Self.contents(99, seed: 1), claimID: "CLM-B", purpose: "fraud-review")
        try f.exchange.addBundle(for: try PartnerID("st-marys-hospital"), contents: Self.contents(10))

        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles"])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == 200)
            #expect(try f.headers()["content-type"] == "application/json")
            let listed = try JSONDecoder().decode([Listed].self, from: r.stdoutData)
            #expect(listed.map(\.id) == [a.bundleID.description, b.bundleID.description])
            #expect(listed.map(\.claim_id) == ["CLM-A", "CLM-B"])
            #expect(listed.map(\.purpose) == ["claim-assessment", "fraud-review"])
            #expect(listed.map(\.size) == [a.size, b.size])
            #expect(listed.map(\.sha256) == [try Self.sha256(a.filePath), try Self.sha256(b.filePath)])
            #expect(listed.map(\.expires) == [Timestamp.format(a.expires), Timestamp.format(b.expires)])
        }
        let calls = f.exchange.calls
        #expect(calls.contains(.acceptsClientCertificate(chainLength: 1, accepted: true)), "the handshake asked the exchange")
        #expect(calls.contains(.openSession(.clientCertificate(der: f.clientCertificateDER), transport: .https)))
        #expect(calls.filter { $0 == .listOutbox(Self.partner) }.count == 1)
        #expect(calls.filter { if case .fileDigest = $0 { true } else { false } }.count == 2)
        #expect(f.exchange.sessions.allSatisfy { $0.origin.clientAddress.hasPrefix("127.0.0.1:") }, "\(f.exchange.sessions)")
        #expect(f.exchange.refusals.isEmpty, "\(f.exchange.refusals)")
    }

    /// No audit entry, no listing: `503` with `Retry-After`, as the table gives `audit-unavailable`.
    @Test func aListingTheExchangeCannotRecordIsNotServed() async throws {
        let f = try PartnerAPIFrontEnd()
        try f.exchange.addBundle(for: Self.partner, contents: Self.contents(10))
        f.exchange.recordingFails = true
        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles"])
            #expect(try f.status() == 503)
            #expect(try f.headers()["retry-after"] == "30")
            #expect(try Self.problem(r).status == 503)
            #expect(!r.stdout.contains("CLM"), "\(r.stdout)")
        }
        #expect(f.exchange.calls.contains(.listOutbox(Self.partner)))
    }

    // MARK: Downloads

    /// Larger than the 1 MiB the routes read at once: the streamed path.
    static let bundleSize = (3 << 19) + 17
    static let bundle = contents(bundleSize)

    struct Download: Sendable, CustomStringConvertible {
        let range: String?
        let status: Int
        /// The bytes served, and the offset the exchange is told the download starts at.
        let served: Range<Int>
        let complete: Bool
        var description: String { range ?? "whole file" }
    }

    @Test(arguments: [
        Download(range: nil, status: 200, served: 0..<bundleSize, complete: true),
        Download(range: "bytes=0-", status: 206, served: 0..<bundleSize, complete: true),
        Download(range: "bytes=100-1099", status: 206, served: 100..<1_100, complete: false),
        Download(range: "bytes=1048000-1049999", status: 206, served: 1_048_000..<1_050_000, complete: false),
        Download(range: "bytes=-500", status: 206, served: (bundleSize - 500)..<bundleSize, complete: false),
    ])
    func aDownloadServesTheBytesAndIsRecordedAsStartedThenEnded(_ d: Download) async throws {
        let f = try PartnerAPIFrontEnd()
        let bytes = Self.bundle
        let e = try f.exchange.addBundle(for: Self.partner, contents: bytes)
        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles/\(e.bundleID)", "-o", f.dir.file("got.p7m")]
                                     + (d.range.map { ["-H", "Range: \($0)"] } ?? []))
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == d.status)
            #expect(FileManager.default.contents(atPath: f.dir.file("got.p7m")) == bytes.subdata(in: d.served))
            let headers = try f.headers()
            #expect(headers["etag"] == "\"\(try Self.sha256(e.filePath))\"")
            #expect(headers["content-type"] == "application/pkcs7-mime")
            #expect(headers["accept-ranges"] == "bytes")
            if d.range != nil {
                #expect(headers["content-range"] == "bytes \(d.served.lowerBound)-\(d.served.upperBound - 1)/\(Self.bundleSize)")
            }
            #expect(f.exchange.waitUntil { $0.contains { $0.downloadEnd != nil } }, "the end of the download is recorded")
        }
        let calls = f.exchange.calls
        let started = try #require(calls.firstIndex(of: .startDownload(e.bundleID, Self.partner, .started(offset: Int64(d.served.lowerBound)))))
        let ended = try #require(calls.firstIndex(of: .downloadEnded(e.bundleID, Self.partner, bytes: Int64(d.served.count), complete: d.complete)),
                                 "\(calls.compactMap(\.downloadEnd))")
        #expect(started < ended)
        #expect(calls.compactMap(\.downloadEnd).count == 1)
    }

    @Test func aRangeOutsideTheFileIsNotSatisfiableAndNotRecorded() async throws {
        let f = try PartnerAPIFrontEnd()
        let e = try f.exchange.addBundle(for: Self.partner, contents: Self.contents(1_000))
        try await f.serve { port in
            _ = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles/\(e.bundleID)", "-H", "Range: bytes=5000-6000"])
            #expect(try f.status() == 416)
            #expect(try f.headers()["content-range"] == "bytes */1000")
        }
        #expect(f.exchange.calls.contains(.startDownload(e.bundleID, Self.partner, .unsatisfiable)))
        #expect(f.exchange.calls.compactMap(\.downloadEnd).isEmpty)
    }

    /// A bundle the exchange does not let the partner have (the exchange records why), and an id
    /// that is not one (the route records it): both `404` by the table.
    @Test func anUnavailableBundleIsNotFound() async throws {
        let f = try PartnerAPIFrontEnd()
        let theirs = try f.exchange.addBundle(for: try PartnerID("st-marys-hospital"), contents: Self.contents(10))
        try await f.serve { port in
            for id in [theirs.bundleID.description, "not-a-bundle-id", theirs.bundleID.description.uppercased()] {
                let r = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles/\(id)"])
                #expect(try f.status() == 404, "\(id)")
                #expect(try Self.problem(r).title == "Not Found", "\(id)")
                #expect(try f.headers()["content-type"] == "application/problem+json")
            }
        }
        let calls = f.exchange.calls
        #expect(calls.contains(.startDownload(theirs.bundleID, Self.partner, .unavailable)))
        #expect(f.exchange.refusals.map(\.reason) == [.bundleUnavailable, .bundleUnavailable, .bundleUnavailable])
        #expect(f.exchange.refusals.map(\.subject) == [theirs.bundleID.description, "not-a-bundle-id", theirs.bundleID.description.uppercased()])
        #expect(calls.compactMap(\.downloadEnd).isEmpty)
    }

    // MARK: Receipts

    enum ReceiptCase: String, CaseIterable, Sendable {
        case matchingDigest, uppercaseDigest, otherDigest, notHex, notJSON, unknownBundle

        var status: Int {
            switch self {
            case .matchingDigest, .uppercaseDigest: 200
            case .otherDigest: 422
            case .notHex, .notJSON: 400
            case .unknownBundle: 404
            }
        }
        var reason: Refusal.Reason? {
            switch self {
            case .matchingDigest, .uppercaseDigest: nil
            case .otherDigest: .digestMismatch
            case .notHex, .notJSON: .malformedReceipt
            case .unknownBundle: .bundleUnavailable
            }
        }
    }

    @Test(arguments: ReceiptCase.allCases)
    func aReceiptIsJudgedByTheExchangeAndAnsweredByTheTable(_ c: ReceiptCase) async throws {
        let f = try PartnerAPIFrontEnd()
        let e = try f.exchange.addBundle(for: Self.partner, contents: Self.contents(3_000))
        let digest = try Self.sha256(e.filePath)
        let id = c == .unknownBundle ? BundleID.random() : e.bundleID
        let sent: String
        switch c {
        case .matchingDigest, .unknownBundle: sent = digest
        case .uppercaseDigest: sent = digest.uppercased()
        case .otherDigest: sent = String(repeating: "ab", count: 32)
        case .notHex: sent = "sha256:" + digest
        case .notJSON: sent = ""
        }
        let body = c == .notJSON ? digest : "{\"sha256\": \"\(sent)\"}"
        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles/\(id)/receipt", "-H", "Content-Type: application/json",
                                      "--data-binary", body])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == c.status, "\(r.stdout)")
            if c.reason == nil {
                #expect(r.stdout == "{\"id\":\"\(id)\",\"state\":\"acknowledged\"}")
            } else {
                let p = try Self.problem(r)
                #expect(p.status == c.status && p.type == "about:blank", "\(p)")
                #expect(try f.headers()["content-type"] == "application/problem+json")
            }
        }
        let acknowledgements = f.exchange.calls.compactMap { call -> (BundleID, String, ReceiptOutcome)? in
            if case .acknowledge(let id, let sha, _, let outcome) = call { (id, sha, outcome) } else { nil }
        }
        try #require(acknowledgements.count == 1, "the route asked the exchange once")
        #expect(acknowledgements[0].0 == id)
        #expect(acknowledgements[0].1 == sent, "the digest is passed as sent")
        switch acknowledgements[0].2 {
        case .acknowledged(let entry): #expect(c.reason == nil && entry == e)
        case .refused(let r): #expect(r.reason == c.reason)
        }
        #expect(f.exchange.isAcknowledged(e.bundleID) == (c.reason == nil))
    }

    // MARK: The session rule

    /// Every request opens its session from the client certificate: when the exchange refuses it,
    /// the partner gets the status and problem the table gives, nothing else is asked of the
    /// exchange, and the refusal is recorded with its real reason, attributed to the partner.
    @Test(arguments: FakeExchange.sessionRuleReasons.map { ($0, 403) })
    func aSessionTheExchangeRefusesGetsTheTablesProblem(_ reason: Refusal.Reason, _ status: Int) async throws {
        let f = try PartnerAPIFrontEnd()
        let e = try f.exchange.addBundle(for: Self.partner, contents: Self.contents(100))
        f.exchange.sessionRefusal = Refusal(reason, "refused by the test")
        try await f.serve { port in
            for path in ["/v1/bundles", "/v1/bundles/\(e.bundleID)"] {
                let r = try await f.curl(["https://127.0.0.1:\(port)\(path)"])
                #expect(try f.status() == status, "\(path)")
                #expect(try f.headers()["content-type"] == "application/problem+json")
                let p = try Self.problem(r)
                #expect(p.type == "about:blank" && p.title == "Forbidden" && p.status == status, "\(p)")
                #expect(p.detail == "This client certificate is not allowed to use the API.")
            }
        }
        let refusals = f.exchange.refusals
        #expect(refusals.map(\.reason) == [reason, reason], "\(refusals)")
        #expect(refusals.allSatisfy { $0.action == .loginRefused && $0.partner == Self.partner && $0.origin.transport == .https })
        let calls = f.exchange.calls
        #expect(!calls.contains { if case .listOutbox = $0 { true } else { false } })
        #expect(!calls.contains { if case .startDownload = $0 { true } else { false } })
    }

    /// The handshake asks the exchange: a certificate it does not accept gets no connection, and
    /// the refused handshake is recorded through it.
    @Test func aClientCertificateTheExchangeDoesNotAcceptFailsTheHandshake() async throws {
        let f = try PartnerAPIFrontEnd()
        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/bundles"], certificate: "stranger")
            #expect(!r.succeeded)
            #expect(r.stdout.isEmpty)
            #expect(f.exchange.waitUntil { $0.contains(.record(.loginRefused, EventReason.Code(.untrustedClientCertificate), transport: .https)) })
        }
        let calls = f.exchange.calls
        #expect(calls.contains(.acceptsClientCertificate(chainLength: 1, accepted: false)))
        #expect(!calls.contains { if case .openSession = $0 { true } else { false } })
    }

    // MARK: Uploads

    @Test func anInboxReportIsStagedCommittedAndRecorded() async throws {
        let f = try PartnerAPIFrontEnd()
        let report = Self.contents(200_000, seed: 9)
        try f.dir.write("report.p7m", report)
        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/inbox", "-H", "Content-Type: application/pkcs7-mime",
                                      "--data-binary", "@" + f.dir.file("report.p7m")])
            try #require(r.succeeded, "\(r.stderr)")
            #expect(try f.status() == 201, "\(r.stdout)")
        }
        let uploads = f.exchange.uploads(of: Self.partner)
        try #require(uploads.count == 1)
        #expect(uploads[0].size == Int64(report.count))
        #expect(uploads[0].name.hasPrefix("https-") && uploads[0].name.hasSuffix(".p7m"))
        #expect(f.exchange.uploadedContents(uploads[0].name, of: Self.partner) == report)
        #expect(f.exchange.inboxFiles(of: Self.partner) == [uploads[0].name], "no staged file is left behind")
        let calls = f.exchange.calls
        let begun = try #require(calls.firstIndex(of: .beginUpload(uploads[0].name, Self.partner)))
        let committed = try #require(calls.firstIndex(of: .uploadCommitted(uploads[0].name, bytes: Int64(report.count))))
        #expect(begun < committed)
    }

    @Test func anInboxReportLargerThanTheExchangeAcceptsIsRefusedAndDiscarded() async throws {
        let f = try PartnerAPIFrontEnd(exchange: FakeExchange(maxUploadBytes: 50_000))
        try f.dir.write("big.p7m", Self.contents(120_000))
        try await f.serve { port in
            let r = try await f.curl(["https://127.0.0.1:\(port)/v1/inbox", "--data-binary", "@" + f.dir.file("big.p7m")])
            #expect(try f.status() == 413, "\(r.stdout)")
            #expect(try Self.problem(r).status == 413)
        }
        #expect(f.exchange.uploads(of: Self.partner).isEmpty)
        #expect(f.exchange.inboxFiles(of: Self.partner).isEmpty)
        let calls = f.exchange.calls
        #expect(calls.filter { if case .uploadTooLarge = $0 { true } else { false } }.count == 1)
        #expect(calls.contains { if case .uploadDiscarded(_, interrupted: false) = $0 { true } else { false } })
    }
}
