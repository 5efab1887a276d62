import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Testing

/// `deliveries retry` and `deliveries cancel` (`Gateway.retryDelivery`, `cancelDelivery`): a push
/// to a closed local port fails, a partner admin makes it due again and the next pass attempts
/// it, then cancels it (the bundle stays in the outbox); delivered, cancelled and missing
/// deliveries are refused with their codes, a claims operator by its role, each recorded.
@Suite struct DeliveryRetryCancelTests {
    /// A partner whose pushes go to a port nothing listens on (and that may pull too). SFTP: its
    /// client is synchronous, so an attempt never waits on the test's cooperative threads.
    static let push = "delivery:\n  push:\n    sftp: {host: 127.0.0.1, port: 1, user: u, path: /in, host_key: \"SHA256:\(String(repeating: "A", count: 43))\"}\n  pull: [sftp]"
    static let shell = Principal.local(uid: 1000, name: "test")

    final class Setup: @unchecked Sendable {
        let f: GatewayFixture
        var g: Gateway { f.gateway }
        let admin: Principal, claims: Principal
        init() throws {
            f = try GatewayFixture()
            let shell = DeliveryRetryCancelTests.shell
            try f.gateway.addPartner(agreementFile: try f.agreement(extra: DeliveryRetryCancelTests.push), by: shell)
            try f.gateway.addPartner(agreementFile: try f.agreement(id: "st-marys-hospital"), by: shell)
            let g = f.gateway
            func add(_ name: String, _ role: Role) throws -> Principal {
                let o = try g.addOperator(name, roles: [role], by: shell).requireApplied().operator
                return .operator(o.id, fingerprint: o.certificate.fingerprint)
            }
            admin = try add("pat", .partnerAdmin)
            claims = try add("claire", .claimsOperator)
        }

        /// A bundle sealed into `partner`'s outbox; for the pushing partner, its delivery after one failed attempt.
        func sent(to partner: String = "acme-assessors") throws -> BundleRecord {
            let b = try g.seal(f.order(partner, documents: [try f.document("report-\(UUID().uuidString.prefix(6)).pdf")]), to: .outbox,
                               by: DeliveryRetryCancelTests.shell)
            if let d = try g.delivery(of: b.id) { try g.attempt(d, retry: RetryPolicy(maxAttempts: 1)) }
            return b
        }

        func events(_ action: String) throws -> [StoredEvent] { try g.store.events().filter { $0.action == action } }
    }

    @Test func aFailedPushIsRetriedAtOnceByTheNextPassThenCancelledAndTheBundleStaysInTheOutbox() throws {
        let s = try Setup()
        let b = try s.sent()
        #expect(try s.g.delivery(of: b.id)?.state == .failed)
        #expect(try s.g.delivery(of: b.id)?.lastErrorCode == "connect-failed")

        let retried = try s.g.retryDelivery(of: b.id.description, by: s.admin)
        #expect(retried.state == .pending)
        #expect(retried.attempts == 1)
        let stored = try #require(try s.g.delivery(of: b.id))
        #expect(stored.state == .pending)
        #expect(RetryPolicy().isDue(stored, now: Date()), "due now, whatever the backoff said")
        // The delivery worker's next pass attempts it (and it fails again: nothing listens).
        #expect(try s.g.deliverDue(retry: RetryPolicy(maxAttempts: 1)) == 1)
        #expect(try s.g.delivery(of: b.id)?.attempts == 2)
        #expect(try s.g.delivery(of: b.id)?.state == .failed)

        let cancelled = try s.g.cancelDelivery(of: b.id.description, reason: "INC-7: their server is retired", by: s.admin)
        #expect(cancelled.state == .cancelled)
        #expect(try s.g.delivery(of: b.id)?.state == .cancelled)
        #expect(try s.g.deliverDue(retry: RetryPolicy()) == 0)
        // The bundle stays queued in the outbox, for the partner to pull.
        #expect(try s.g.bundles(by: Self.shell).first { $0.id == b.id }?.state == .queued)

        let actor = s.admin.actor.description
        let r = try #require(try s.events("delivery-retried").first)
        #expect([r.actor, r.outcome, r.bundleID, r.partnerID] == [actor, "success", b.id.description, "acme-assessors"])
        let c = try #require(try s.events("delivery-cancelled").first)
        #expect([c.actor, c.outcome, c.reasonCode, c.subject] == [actor, "success", "operator-note", "INC-7: their server is retired"])
        #expect(try s.g.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func aPendingPushWaitingOutItsBackoffIsMadeDueNow() throws {
        let s = try Setup()
        let b = try s.g.seal(s.f.order(documents: [try s.f.document("a.pdf")]), to: .outbox, by: Self.shell)
        let d = try s.g.attempt(try #require(try s.g.delivery(of: b.id)))
        #expect(d.state == .pending)
        #expect(!RetryPolicy().isDue(try #require(try s.g.delivery(of: b.id)), now: Date()))
        #expect(try s.g.retryDelivery(of: b.id.description, by: s.admin).state == .pending)
        #expect(RetryPolicy().isDue(try #require(try s.g.delivery(of: b.id)), now: Date()))
    }

    @Test func settledMissingAndUnknownDeliveriesAreRefusedWithTheirCodesAndRecorded() throws {
        let s = try Setup()
        let b = try s.sent()
        try s.g.cancelDelivery(of: b.id.description, reason: "not needed", by: s.admin)
        let calls: [(String, () throws -> Delivery)] = [("retry", { try s.g.retryDelivery(of: b.id.description, by: s.admin) }),
                                                        ("cancel", { try s.g.cancelDelivery(of: b.id.description, reason: "again", by: s.admin) })]
        for (what, call) in calls {
            let e = #expect(throws: ClaimGateError.self, "\(what)") { _ = try call() }
            #expect(e?.code == .deliverySettled)
            #expect(e?.code.exitStatus == 65)
        }
        let pulled = try s.sent(to: "st-marys-hospital")
        let none = #expect(throws: ClaimGateError.self) { try s.g.retryDelivery(of: pulled.id.description, by: s.admin) }
        #expect(none?.code == .unknownDelivery)
        #expect(none?.code.exitStatus == 66)
        let unknown = #expect(throws: ClaimGateError.self) { try s.g.cancelDelivery(of: "00000000-0000-0000-0000-000000000000", reason: "x", by: s.admin) }
        #expect(unknown?.code == .unknownBundle)
        let noReason = #expect(throws: ClaimGateError.self) { try s.g.cancelDelivery(of: (try s.sent()).id.description, reason: "  ", by: s.admin) }
        #expect(noReason?.code == .invalidArgument)

        let refused = try s.events("delivery-refused").map { [$0.outcome, $0.reasonCode ?? "", $0.subject ?? ""] }
        #expect(refused == [["refused", "delivery-settled", "delivery-retry"], ["refused", "delivery-settled", "delivery-cancel"],
                            ["refused", "unknown-delivery", "delivery-retry"], ["refused", "unknown-bundle", "delivery-cancel"],
                            ["refused", "invalid-argument", "delivery-cancel"]])
        #expect(try s.g.verifyAuditTrail(by: .system).isIntact)
    }

    @Test func aClaimsOperatorSeesDeliveriesButCannotRetryOrCancelThem() throws {
        let s = try Setup()
        let b = try s.sent()
        #expect(try s.g.deliveries(by: s.claims).count == 1)
        let calls: [() throws -> Delivery] = [{ try s.g.retryDelivery(of: b.id.description, by: s.claims) },
                                              { try s.g.cancelDelivery(of: b.id.description, reason: "x", by: s.claims) }]
        for call in calls {
            let e = #expect(throws: ClaimGateError.self) { _ = try call() }
            #expect(e?.code == .notPermitted)
            #expect(e?.refusal == .roleMissing)
        }
        #expect(try s.g.delivery(of: b.id)?.state == .failed)
        let subjects = try s.events("operator-refused").filter { $0.actor == s.claims.actor.description }.map(\.subject)
        #expect(subjects == ["delivery-retry", "delivery-cancel"])
    }
}
