import Audit
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Store
import Testing

/// PostgreSQL stopped as a crash would (`pg_ctl stop -m immediate`: no checkpoint) while a node
/// writes, then started again: writes in between fail as `audit-unavailable` (nothing is
/// acknowledged), the same store carries on once the server is back (new connections), and
/// every write that was acknowledged is there, in one intact chain.
@Suite struct PostgresRestartTests {
    @Test func anImmediateStopLosesNothingAcknowledgedAndTheStoreCarriesOn() throws {
        let server = try PostgresServer()
        defer { try? server.stop(mode: .fast) }
        _ = try server.psql("CREATE DATABASE restart")
        let store = GatewayStore(database: try PostgresDatabase(try PostgresLocation(url: server.url(database: "restart"))))
        func event(_ n: Int) -> TransferEvent {
            TransferEvent(time: Date(), actor: .system, action: .download, outcome: .success, bytes: Int64(n), transport: .https)
        }
        var acknowledged: [Int64] = []
        for n in 0..<50 { try store.record(event(n)); acknowledged.append(Int64(n)) }

        try server.stop(mode: .immediate)
        var refused = 0
        for n in 50..<55 {
            do {
                try store.record(event(n))
                acknowledged.append(Int64(n))
            } catch let e as ClaimGateError {
                #expect(e.code == .auditUnavailable, "\(e)")
                refused += 1
            }
        }
        #expect(refused == 5)
        // A read while the server is down fails with a sentence that says what to do.
        do {
            _ = try store.bundles()
            Issue.record("a read succeeded with the server stopped")
        } catch {
            let explained = try #require(GatewayStore.explainIfDatabaseError(error), "\(error)")
            #expect(explained.message.contains("cannot be reached") && explained.message.contains("check that PostgreSQL is running"),
                    "\(explained.message)")
        }

        try server.start()
        for n in 55..<60 { try store.record(event(n)); acknowledged.append(Int64(n)) }
        var entries: [AuditEntry] = []
        try store.forEachAuditEntry { entries.append($0) }
        #expect(entries.compactMap(\.bytes) == acknowledged)
        #expect(AuditVerifier.verify(entries: entries, keys: []).problem == nil)
    }
}
