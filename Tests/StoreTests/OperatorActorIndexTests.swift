import ClaimGateCore
import ClaimGateTesting
import Foundation
import GRDB
@testable import Store
import Testing

/// Migration v12-operator-actor-index: operators' entries are indexed apart, and the grants
/// review's queries read them through that index, not the whole trail.
@Suite struct OperatorActorIndexTests {
    let dir = TemporaryDirectory("claimgate-operator-index")

    @Test func theGrantsReviewQueriesUseThePartialIndexOfOperatorsEntries() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let claire = Actor.operator(try OperatorID("claire"), fingerprint: String(repeating: "cd", count: 32))
        for (i, actor) in [Actor.system, claire, .partner(try PartnerID(stored: "acme-assessors")), claire].enumerated() {
            try store.record(TransferEvent(time: t0.addingTimeInterval(Double(i)), actor: actor,
                                           action: i == 3 ? .operatorRefused : .queue, outcome: i == 3 ? .refused : .success,
                                           reason: i == 3 ? EventReason(.roleMissing, "partner-suspend") : nil, transport: .cli))
        }
        let plan = try store.sqlitePool.read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT actor, action, MAX(time) AS last_time, MAX(seq) AS last_seq FROM event
                WHERE \(GatewayStore.operatorActorTerms) AND outcome = 'success' AND time < ? GROUP BY actor, action
                """, arguments: ["2100"]).map { $0["detail"] as String? ?? "" }.joined(separator: "\n")
        }
        #expect(plan.contains("event_operator_actor"), "\(plan)")
        let indexed = try store.sqlitePool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM event INDEXED BY event_operator_actor WHERE \(GatewayStore.operatorActorTerms)") }
        #expect(indexed == 2)

        let uses = try store.operatorLastUses(before: "2100")
        #expect(uses.map(\.actor) == [claire.description])
        let counts = try store.operatorEntryCounts(since: "2000", until: "2100")
        #expect(counts.map(\.outcome) == ["refused", "success"])
        #expect(counts.first?.refusedAction == "partner-suspend")
        #expect(counts.first?.reasonCode == "role-missing")
    }
}
