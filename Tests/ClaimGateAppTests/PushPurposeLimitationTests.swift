import ClaimGateApp
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Testing

/// Purpose limitation holds for pushes as for pulls: a queued push whose bundle's purpose the
/// agreement no longer allows is cancelled, and nothing is sent.
@Suite struct PushPurposeLimitationTests {
    // Port 1 on loopback: nothing listens, so an attempt that did try to connect would fail
    // with connect-failed, not be cancelled.
    static let push = "delivery:\n  push:\n    sftp: {host: 127.0.0.1, port: 1, user: u, path: /in, host_key: \"SHA256:\(String(repeating: "A", count: 43))\"}"

    @Test func aQueuedPushIsCancelledWhenItsPurposeIsWithdrawn() throws {
        let f = try GatewayFixture()
        let me = Principal.local(uid: 1000, name: "test")
        try f.gateway.addPartner(agreementFile: try f.agreement(extra: Self.push), by: me)
        let b = try f.gateway.seal(f.order(purpose: "fraud-review", documents: [try f.document("r.pdf")]), to: .outbox, by: me)
        let queued = try #require(try f.gateway.delivery(of: b.id))
        try f.gateway.updatePartner(agreementFile: try f.agreement(purposes: "[claim-assessment]", extra: Self.push), by: me)

        let after = try f.gateway.attempt(queued)
        #expect(after.state == .cancelled)
        #expect(after.lastErrorCode == "purpose-not-allowed")
        let attempts = try f.gateway.store.events(bundle: b.id).filter { $0.action == "delivery" }
        #expect(attempts.map(\.outcome) == ["refused"], "refused before anything was sent: \(attempts)")
        #expect(attempts.first?.reasonCode == "purpose-not-allowed")
    }
}
