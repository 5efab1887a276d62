import ClaimGateApp
import Operations
import ClaimGateCore
import ClaimGateTesting
import Exchange
import Foundation
import Testing

/// Agreements and bundles over time, with the clock injected: expiry at every access, recall,
/// purge, partner versions and status.
@Suite struct LifecycleTests {
    /// Pinned relative to the real time: the test PKI is issued at the real time, so a clock
    /// pinned to a calendar date would rot (certificates "not valid before" it, or expired).
    static let start = Timestamp.wholeSeconds(Date())

    @Test func expiryIsInForceJustBeforeAtAndAfterForListingDownloadAndOpen() throws {
        let clock = ManualClock(Self.start)
        let f = try GatewayFixture(clock: clock)
        try f.onboard()
        let b = try f.gateway.seal(f.order(expiry: .ttl(3_600), documents: [try f.document("r.pdf")]), to: .outbox, by: .local(uid: 1000, name: "test"))
        let exchange = GatewayExchange(gateway: f.gateway)
        let partner = try f.session()

        clock.now = b.expires.addingTimeInterval(-0.001)
        #expect(try exchange.listOutbox(partner).map(\.bundleID) == [b.id])
        #expect(try exchange.bundle(b.id, for: partner) != nil)
        #expect(throws: Never.self) { try f.open(b.filePath, as: "acme-assessors", out: f.dir.path + "/before", clock: clock) }

        for instant in [b.expires, b.expires.addingTimeInterval(1)] {
            clock.now = instant
            #expect(try exchange.listOutbox(partner).isEmpty, "expired at \(instant)")
            #expect(try exchange.bundle(b.id, for: partner) == nil)
            #expect(throws: ClaimGateError.self) {
                try f.open(b.filePath, as: "acme-assessors", out: f.dir.path + "/after-\(instant.timeIntervalSince1970)", clock: clock)
            }
        }
    }

    @Test func recallHidesABundleAtOnceAndPurgeDestroysItWithARecord() throws {
        let clock = ManualClock(Self.start)
        let f = try GatewayFixture(clock: clock)
        try f.onboard()
        let keep = try f.gateway.seal(f.order(documents: [try f.document("keep.pdf")]), to: .outbox, by: .local(uid: 1000, name: "test"))
        let b = try f.gateway.seal(f.order(documents: [try f.document("r.pdf")]), to: .outbox, by: .local(uid: 1000, name: "test"))
        let exchange = GatewayExchange(gateway: f.gateway)
        let entry = try #require(try exchange.bundle(b.id, for: try f.session()))
        let digest = try exchange.fileDigest(of: entry)

        let recalled = try f.gateway.recall(bundle: b.id.description, reason: "sent to the wrong assessor", by: .local(uid: 1000, name: "test"))
        #expect(recalled.state == .recalled)
        #expect(try exchange.bundle(b.id, for: try f.session()) == nil)
        #expect(try exchange.listOutbox(try f.session()).map(\.bundleID) == [keep.id])
        #expect(throws: ClaimGateError.self) { try f.gateway.recall(bundle: b.id.description, reason: "again", by: .local(uid: 1000, name: "test")) }

        let result = try f.gateway.purge(by: .local(uid: 1000, name: "test"))
        #expect(result.bundles == [b.id])
        #expect(!FileManager.default.fileExists(atPath: b.filePath))
        #expect(FileManager.default.fileExists(atPath: keep.filePath))
        #expect(try f.gateway.store.bundle(b.id)?.state == .purged)
        let history = try f.gateway.store.events(bundle: b.id).map { "\($0.action):\($0.outcome):\($0.reason ?? "")" }
        #expect(history == ["queue:success:", "recall:success:sent to the wrong assessor", "purge:success:recalled"])
        var purgeDigests: [String] = []
        try f.gateway.store.forEachAuditEntry { e in if e.action == "purge" { purgeDigests = e.documentDigests } }
        #expect(purgeDigests == [digest], "the destruction entry names what was destroyed")

        // Expired bundles are purged once their time has passed, not before.
        #expect(try f.gateway.purge(by: .local(uid: 1000, name: "test")).bundles.isEmpty)
        clock.now = keep.expires
        #expect(try f.gateway.purge(by: .local(uid: 1000, name: "test")).bundles == [keep.id])
        #expect(try f.gateway.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func partnerVersionsStatusAndRemoval() throws {
        let clock = ManualClock(Self.start)
        let f = try GatewayFixture(clock: clock)
        let pull = "delivery: {pull: [sftp]}"
        try f.gateway.addPartner(agreementFile: try f.agreement(extra: pull), by: .local(uid: 1000, name: "test"))
        let updated = try f.gateway.updatePartner(agreementFile: try f.agreement(purposes: "[claim-assessment]", extra: pull), by: .local(uid: 1000, name: "test")).requireApplied()
        #expect(updated.version == 2)
        #expect(updated.agreement.terms.purposes == ["claim-assessment"])
        let versions = try f.gateway.store.agreementVersions(updated.id)
        #expect(versions.map(\.version) == [1, 2])
        #expect(versions[0].agreement.terms.purposes == ["claim-assessment", "fraud-review"], "history is kept")
        // The refused purpose is refused from now on.
        #expect(throws: ClaimGateError.self) {
            try f.gateway.seal(f.order(purpose: "fraud-review", documents: [try f.document("r.pdf")]), to: .outbox, by: .local(uid: 1000, name: "test"))
        }

        let exchange = GatewayExchange(gateway: f.gateway)
        let session = try f.session()
        try f.gateway.suspendPartner("acme-assessors", reason: "incident INC-7", by: .local(uid: 1000, name: "test"))
        if case .success = exchange.revalidate(session) { Issue.record("a suspended partner may not act") }
        #expect(throws: ClaimGateError.self) { try f.gateway.suspendPartner("acme-assessors", reason: nil, by: .local(uid: 1000, name: "test")) }
        try f.gateway.resumePartner("acme-assessors", by: .local(uid: 1000, name: "test"))
        if case .failure(let r) = exchange.revalidate(session) { Issue.record("resumed, yet refused: \(r)") }

        let b = try f.gateway.seal(f.order(documents: [try f.document("r.pdf")]), to: .outbox, by: .local(uid: 1000, name: "test"))
        let e = #expect(throws: ClaimGateError.self) { try f.gateway.removePartner("acme-assessors", force: false, reason: nil, by: .local(uid: 1000, name: "test")) }
        #expect(e?.message.contains("--force") == true)
        try f.gateway.removePartner("acme-assessors", force: true, reason: "contract ended", by: .local(uid: 1000, name: "test"))
        #expect(try f.gateway.partner("acme-assessors").status == .removed)
        if case .success = exchange.revalidate(session) { Issue.record("a removed partner may not act") }
        #expect(throws: ClaimGateError.self) { try f.gateway.resumePartner("acme-assessors", by: .local(uid: 1000, name: "test")) }
        let actions = try f.gateway.store.events(partner: updated.id).map(\.action)
        for a in ["partner-onboarded", "partner-updated", "partner-suspended", "partner-resumed", "partner-removed"] {
            #expect(actions.contains(a), "\(a) in \(actions)")
        }
    }

    @Test func purgeNeverTouchesABundleSealedToAFileTheOperatorNamed() throws {
        let clock = ManualClock(Self.start)
        let f = try GatewayFixture(clock: clock)
        try f.onboard()
        let out = f.dir.path + "/handed-over.p7m"
        let b = try f.gateway.seal(f.order(expiry: .ttl(3_600), documents: [try f.document("r.pdf")]), to: .file(out), by: .local(uid: 1000, name: "test"))
        clock.now = b.expires.addingTimeInterval(86_400)
        #expect(try f.gateway.purge(by: .local(uid: 1000, name: "test")).bundles.isEmpty)
        #expect(FileManager.default.fileExists(atPath: out))
        #expect(try f.gateway.store.bundle(b.id)?.state == .sealed)
    }

    @Test func purgeRemovesScratchLeftByAnInterruptedProcessingButNothingInProgress() throws {
        let clock = ManualClock(Self.start)
        let f = try GatewayFixture(clock: clock)
        let home = f.gateway.home
        let fm = FileManager.default
        let stale = home.root + "/inbound-reports/.work-stale", fresh = home.root + "/inbound-reports/.work-fresh"
        let upload = home.inbound + "/acme-assessors/.upload-stale"
        for dir in [stale, fresh, home.inbound + "/acme-assessors"] { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        fm.createFile(atPath: stale + "/claimgate-content-1.tar", contents: Data("unverified".utf8))
        fm.createFile(atPath: upload, contents: Data("half".utf8))
        // The clock is the gateway's; file times are the file system's: age the stale ones.
        let old = Date().addingTimeInterval(-7_200)
        for path in [stale, upload] { try fm.setAttributes([.modificationDate: old], ofItemAtPath: path) }
        clock.now = Date()
        let r = try f.gateway.purge(by: .local(uid: 1000, name: "test"))
        #expect(r.scratch == 2)
        #expect(!fm.fileExists(atPath: stale) && !fm.fileExists(atPath: upload))
        #expect(fm.fileExists(atPath: fresh))
    }
}

