import ClaimGateCore
import ClaimGateTesting
import Foundation
import Operations
import Testing

/// The bundle search the console's bundles page runs: in the store, within the operator's
/// partner scope, by claim (a part, any case), partner, state and creation days, newest first,
/// limited, with the total.
@Suite struct BundleSearchTests {
    static let shell = Principal.local(uid: 1000, name: "test")

    final class Fixture: @unchecked Sendable {
        let f = try! OperatorFixture()
        var gateway: Gateway { f.gateway }
        var ids: [String: BundleID] = [:]

        init() throws {
            for (claim, partner) in [("CLM-2026-0001", "acme-assessors"), ("clm-2026-0002", "acme-assessors"),
                                     ("CLM-2026-0003", "st-marys-hospital"), ("OTHER-7", "acme-assessors")] {
                var order = f.f.order(partner, documents: [try f.f.document("\(claim).pdf")])
                order.claimID = claim
                ids[claim] = try gateway.seal(order, to: .outbox, by: BundleSearchTests.shell).id
            }
        }
    }

    @Test func searchesByClaimPartnerStateAndDayWithinTheScope() throws {
        let s = try Fixture()
        func claims(_ search: BundleSearch, by who: Principal = Self.shell) throws -> (Set<String>, Int) {
            let r = try s.gateway.searchBundles(search, by: who)
            return (Set(r.bundles.map(\.claimID)), r.total)
        }
        #expect(try claims(BundleSearch(claim: "clm-2026")).0 == ["CLM-2026-0001", "clm-2026-0002", "CLM-2026-0003"])
        #expect(try claims(BundleSearch(claim: "2026", partner: "acme-assessors")).0 == ["CLM-2026-0001", "clm-2026-0002"])
        #expect(try claims(BundleSearch(state: .recalled)).1 == 0)
        _ = try s.gateway.recall(bundle: s.ids["OTHER-7"]!.description, reason: "wrong partner", by: Self.shell)
        #expect(try claims(BundleSearch(state: .recalled)).0 == ["OTHER-7"])
        let today = try CalendarDay(parsing: String(Timestamp.format(Date()).prefix(10))).startOfDay
        #expect(try claims(BundleSearch(createdFrom: today, createdBefore: today.addingTimeInterval(86_400))).1 == 4)
        #expect(try claims(BundleSearch(createdFrom: today.addingTimeInterval(86_400))).1 == 0)
        // Limited, newest first, with the total.
        let two = try s.gateway.searchBundles(BundleSearch(limit: 2), by: Self.shell)
        #expect(two.bundles.count == 2 && two.total == 4)
        #expect(two.bundles[0].created >= two.bundles[1].created)
        // A scoped operator finds only its partners' bundles; naming another partner is refused.
        let scoped = try s.f.add("sam", [.claimsOperator], partners: ["st-marys-hospital"])
        #expect(try claims(BundleSearch(claim: "CLM"), by: scoped).0 == ["CLM-2026-0003"])
        let e = #expect(throws: ClaimGateError.self) { try s.gateway.searchBundles(BundleSearch(partner: "acme-assessors"), by: scoped) }
        #expect(e?.refusal == .partnerOutOfScope)
        // Search text is data, never SQL.
        #expect(try claims(BundleSearch(claim: "' OR 1=1 --")).1 == 0)
    }
}
