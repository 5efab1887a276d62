import ClaimGateCore
import ClaimGateTesting
import Foundation
import Synchronization
import Testing

@Suite struct ValuesTests {
    @Test(arguments: ["ab", "acme-assessors", "a1-2", String(repeating: "x", count: 64)])
    func validPartnerIDs(_ id: String) { #expect(PartnerID.isValid(id)) }

    @Test(arguments: ["a", "ACME", "acme_assessors", "acme assessors", "../etc", "", String(repeating: "x", count: 65), "é-partner"])
    func invalidPartnerIDs(_ id: String) { #expect(!PartnerID.isValid(id)) }

    @Test func expiresDateMeansTheEndOfThatDayUTC() throws {
        #expect(try ExpirySpec.expires("2026-12-01") == .at(Timestamp.parse("2026-12-02T00:00:00Z")!))
        #expect(try ExpirySpec.expires("2026-12-01T12:00:00+01:00") == .at(Timestamp.parse("2026-12-01T11:00:00Z")!))
        #expect(throws: ClaimGateError.self) { try ExpirySpec.expires("next week") }
        #expect(throws: ClaimGateError.self) { try ExpirySpec.expires("2026-02-30") }
    }

    @Test func ttlUnits() throws {
        #expect(try ExpirySpec.ttl("7d") == .ttl(7 * 86_400))
        #expect(try ExpirySpec.ttl("12h") == .ttl(12 * 3_600))
        #expect(try ExpirySpec.ttl("90m") == .ttl(90 * 60))
        #expect(try ExpirySpec.ttl("2w") == .ttl(14 * 86_400))
        for bad in ["7", "d", "-1d", "0d", "7y", "1.5d"] {
            #expect(throws: ClaimGateError.self, "\(bad)") { try ExpirySpec.ttl(bad) }
        }
    }

    @Test func mediaTypesAreSniffedFromContent() {
        #expect(MediaTypeSniffer.sniff(Array("%PDF-1.7\n".utf8)) == "application/pdf")
        #expect(MediaTypeSniffer.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]) == "image/jpeg")
        #expect(MediaTypeSniffer.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]) == "image/png")
        #expect(MediaTypeSniffer.sniff(Array("GIF89a..".utf8)) == "image/gif")
        #expect(MediaTypeSniffer.sniff([0, 0, 0, 0x18] + Array("ftypmp42".utf8)) == "video/mp4")
        #expect(MediaTypeSniffer.sniff([0, 0, 0, 0x18] + Array("ftypheic".utf8)) == "image/heic")
        #expect(MediaTypeSniffer.sniff(Array("Claim notes: water damage.\n".utf8)) == "text/plain")
        #expect(MediaTypeSniffer.sniff([0x4D, 0x5A, 0x90, 0x00, 0x03]) == "application/octet-stream")
        #expect(MediaTypeSniffer.sniff([UInt8]()) == "application/octet-stream")
        // An executable renamed to .pdf is still not a PDF.
        #expect(MediaTypeSniffer.sniff([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1]) == "application/octet-stream")
    }

    @Test func maskingReplacesListedFieldsOnly() {
        let m = Masking.apply(["claimant.national_id"], to: ["claimant.national_id": "756.1234", "loss.type": "fire"])
        #expect(m == ["claimant.national_id": "[masked]", "loss.type": "fire"])
    }

    @Test func manifestRoundTripsCanonically() throws {
        let id = BundleID.random()
        let m = BundleManifest(bundleID: id, claimID: "CLM-1", sender: .init(gatewayID: "g", signingCertificateSHA256: "aa"),
                               recipient: .init(partnerID: "p", encryptionCertificateSHA256: "bb"), agreementReference: "DSA",
                               purpose: "claim-assessment", consentReference: nil,
                               created: Timestamp.parse("2026-11-21T12:00:00Z")!, expires: Timestamp.parse("2026-11-28T12:00:00Z")!,
                               metadata: ["a": "b"], documents: [.init(name: "x.pdf", mediaType: "application/pdf", size: 3, sha256: "cc")])
        let data = try m.encoded()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"bundle_id\" : \"\(id.description)\""))
        #expect(text.contains("\"created\" : \"2026-11-21T12:00:00Z\""))
        #expect(try BundleManifest.decode(data) == m)
        #expect(try m.encoded() == data, "encoding is deterministic")
        #expect(throws: ClaimGateError.self) { try BundleManifest.decode(Data("{}".utf8)) }
    }

    @Test func documentNamesMustBePlain() throws {
        #expect(try DocumentName.validate("report.pdf") == "report.pdf")
        #expect(try DocumentName.validate("Überweisung März.pdf") == "Überweisung März.pdf")
        for bad in ["", ".", "..", ".hidden", "a/b", "a\\b", "tab\tname", String(repeating: "a", count: 201),
                    "csi\u{009B}name", "evil\u{202E}fdp.exe", "mark\u{200F}.pdf", "iso\u{2066}late.pdf"] {
            #expect(throws: ClaimGateError.self, "\(bad)") { try DocumentName.validate(bad) }
        }
    }
}

@Suite struct RefusalThrottleTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func theFirstRefusalsOfAWindowAreRecordedAndTheRestCounted() {
        var throttle = RefusalThrottle(window: 60, burst: 3)
        for i in 0..<3 { #expect(throttle.refusal(at: t0.addingTimeInterval(Double(i))) == (.record, nil)) }
        #expect(throttle.refusal(at: t0.addingTimeInterval(5)).decision == .counted(first: true, windowEnd: t0.addingTimeInterval(60)))
        #expect(throttle.refusal(at: t0.addingTimeInterval(6)).decision == .counted(first: false, windowEnd: t0.addingTimeInterval(60)))
        #expect(throttle.due(at: t0.addingTimeInterval(59)) == nil)
        #expect(throttle.due(at: t0.addingTimeInterval(60)) == .init(count: 2, from: t0, until: t0.addingTimeInterval(60)))
        #expect(throttle.due(at: t0.addingTimeInterval(61)) == nil, "a summary is owed once")
        // A new window: recorded one by one again.
        #expect(throttle.refusal(at: t0.addingTimeInterval(200)) == (.record, nil))
    }

    @Test func aSummaryNotYetWrittenComesWithTheNextRefusal() {
        var throttle = RefusalThrottle(window: 10, burst: 1)
        _ = throttle.refusal(at: t0)
        _ = throttle.refusal(at: t0.addingTimeInterval(1))
        let next = throttle.refusal(at: t0.addingTimeInterval(30))
        #expect(next.decision == .record)
        #expect(next.summary == .init(count: 1, from: t0, until: t0.addingTimeInterval(10)))
    }

    @Test func aClockSteppedBackEndsTheWindow() {
        var throttle = RefusalThrottle(window: 60, burst: 0)
        _ = throttle.refusal(at: t0)
        #expect(throttle.due(at: t0.addingTimeInterval(-5))?.count == 1)
    }

    @Test func drainingAtShutdownReturnsWhatWasOnlyCounted() {
        var throttle = RefusalThrottle(window: 60, burst: 1)
        _ = throttle.refusal(at: t0)
        _ = throttle.refusal(at: t0.addingTimeInterval(1))
        _ = throttle.refusal(at: t0.addingTimeInterval(2))
        #expect(throttle.drain(at: t0.addingTimeInterval(10)) == .init(count: 2, from: t0, until: t0.addingTimeInterval(10)))
        #expect(throttle.drain(at: t0.addingTimeInterval(11)) == nil)
    }

    @Test func throttledRefusalsRecordTheBurstThenOneCountedEntry() {
        let recorded = Mutex<[TransferEvent]>([])
        let refusals = ThrottledRefusals(throttle: RefusalThrottle(window: 60, burst: 2), summary: { s in
            TransferEvent(time: s.until, actor: .system, action: .loginRefused, outcome: .refused, bytes: Int64(s.count), transport: .sftp)
        }, record: { e in recorded.withLock { $0.append(e) } })
        func refusal(_ t: TimeInterval) -> TransferEvent {
            TransferEvent(time: t0.addingTimeInterval(t), actor: .system, action: .loginRefused, outcome: .refused, reason: EventReason(.noKey), transport: .sftp)
        }
        #expect(refusals.refused(refusal(0)) == nil)
        #expect(refusals.refused(refusal(1)) == nil)
        #expect(refusals.refused(refusal(2)) == t0.addingTimeInterval(60), "the first one counted says when the count is owed")
        #expect(refusals.refused(refusal(3)) == nil)
        refusals.recordDue(at: t0.addingTimeInterval(30))
        #expect(recorded.withLock { $0.count } == 2)
        refusals.recordDue(at: t0.addingTimeInterval(60))
        #expect(recorded.withLock { $0.map(\.reason?.text) } == ["no-key", "no-key", nil])
        #expect(recorded.withLock { $0.last?.bytes } == 2)
        refusals.drain(at: t0.addingTimeInterval(61))
        #expect(recorded.withLock { $0.count } == 3, "nothing more owed")
    }

    @Test func noRefusalsNoSummary() {
        var throttle = RefusalThrottle()
        #expect(throttle.due(at: t0) == nil)
        #expect(throttle.refusal(at: t0) == (.record, nil))
        #expect(throttle.due(at: t0.addingTimeInterval(3600)) == nil)
    }
}
