import ClaimGateCore
import ClaimGateTesting
import Foundation
import Store
import Testing

/// Leases of singleton jobs, on both backends: one holder at a time, taken over when it runs out,
/// and a write under a lease that was taken over is refused.
@Suite struct JobLeaseTests {
    let dir = TemporaryDirectory("claimgate-lease")

    @Test(arguments: TestDatabase.allCases) func oneHolderAtATimeAndATakeoverFencesTheOldHolderOut(_ backend: TestDatabase) throws {
        let location = try TestStore(backend, in: dir)
        let nodeA = try location.open(), nodeB = try location.open()
        let t0 = Date()
        let a = try #require(try nodeA.takeLease("deliveries", holder: "a", now: t0, duration: 15))
        #expect(a.fence == 1)
        #expect(try nodeB.takeLease("deliveries", holder: "b", now: t0.addingTimeInterval(5), duration: 15) == nil)
        // Renewed by its holder: the same fence, a later end.
        let renewed = try #require(try nodeA.takeLease("deliveries", holder: "a", now: t0.addingTimeInterval(10), duration: 15))
        #expect(renewed.fence == 1)
        #expect(try nodeB.takeLease("deliveries", holder: "b", now: t0.addingTimeInterval(20), duration: 15) == nil)
        // A stops renewing: B takes the job over once the lease ran out, with the next fence.
        let b = try #require(try nodeB.takeLease("deliveries", holder: "b", now: t0.addingTimeInterval(26), duration: 15))
        #expect(b.fence == 2)
        let recorded = try nodeA.leases()
        #expect(recorded == [b], "\(recorded) vs \(b)")

        // A, back from a stall, records an attempt under its old lease: refused, nothing recorded.
        let d = Delivery(bundleID: .random(), partnerID: try PartnerID("acme"), transport: .sftp, target: "sftp://x",
                         state: .failed, attempts: 1, created: t0)
        let event = TransferEvent(time: t0, actor: .system, action: .delivery, outcome: .failed, transport: .sftp)
        #expect(throws: LeaseLost.self) { try nodeA.recordAttempt(d, lease: renewed, event: event) }
        #expect(try nodeA.events().isEmpty)
        try nodeB.recordAttempt(d, lease: b, event: event)
        #expect(try nodeA.events().count == 1)

        // Given up at shutdown: another node takes it at once.
        try nodeB.releaseLease("deliveries", holder: "b")
        #expect(try nodeA.takeLease("deliveries", holder: "a", now: t0.addingTimeInterval(27), duration: 15)?.fence == 3)
    }

    @Test(arguments: TestDatabase.allCases) func nodesRacingForALeaseGetOneHolder(_ backend: TestDatabase) throws {
        let location = try TestStore(backend, in: dir)
        let nodes = try (0..<4).map { _ in try location.open() }
        let now = Date()
        let winners = Counter()
        DispatchQueue.concurrentPerform(iterations: 40) { n in
            if (try? nodes[n % 4].takeLease("purge", holder: "node-\(n)", now: now, duration: 15)) != nil { winners.add() }
        }
        #expect(winners.value == 1)
        #expect(try nodes[0].leases().map(\.fence) == [1])
    }
}
