import Audit
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Store
import Testing

/// Group commit as the store's callers see it: waited writes, changes queued to ride in the
/// next transaction, and one caller's failure leaving the others' changes in place.
@Suite struct GroupCommitTests {
    let dir = TemporaryDirectory("claimgate-store")

    func event(_ n: Int, _ outcome: TransferEvent.Outcome = .success) -> TransferEvent {
        TransferEvent(time: Date(), actor: .system, action: .download, outcome: outcome, bytes: Int64(n), transport: .https)
    }

    func bytes(_ store: GatewayStore) throws -> [Int64] {
        try store.events().compactMap(\.bytes)
    }

    func verify(_ store: GatewayStore) throws -> AuditVerification {
        var entries: [AuditEntry] = []
        try store.forEachAuditEntry { entries.append($0) }
        return AuditVerifier.verify(entries: entries, keys: [])
    }

    @Test func aQueuedChangeIsCommittedWithinMillisecondsWithoutAnyOtherWrite() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        store.recordSoon(event(1)) { Issue.record("unexpected failure: \($0)") }
        let deadline = Date().addingTimeInterval(5)
        while try bytes(store) != [1], Date() < deadline { usleep(2_000) }
        #expect(try bytes(store) == [1])
        // Another process (a fresh connection) sees it: it is committed, not only queued.
        #expect(try bytes(GatewayStore(path: dir.file("db.sqlite"))) == [1])
    }

    @Test func aWaitedWriteCommitsEverythingQueuedBeforeIt() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        for n in 1...20 { store.recordSoon(event(n)) { Issue.record("unexpected failure: \($0)") } }
        try store.record(event(21))
        // In order, and all on disk when the waited write returns.
        #expect(try bytes(GatewayStore(path: dir.file("db.sqlite"))) == Array(1...21))
        #expect(try verify(store).problem == nil)
    }

    @Test func flushCommitsWhatIsQueued() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        for n in 1...200 { store.recordSoon(event(n)) { Issue.record("unexpected failure: \($0)") } }
        try store.flush()
        #expect(try bytes(GatewayStore(path: dir.file("db.sqlite"))).count == 200)
    }

    @Test func oneCallersFailureLeavesTheOthersChangesInTheSameBatch() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        struct Refused: Error {}
        let failures = Counter()
        // Many concurrent writers share transactions; every third one fails after its read.
        DispatchQueue.concurrentPerform(iterations: 90) { n in
            do {
                try store.judgingBundle(.random()) { found -> (Void, TransferEvent?) in
                    #expect(found == nil)
                    if n % 3 == 0 { throw Refused() }
                    return ((), self.event(n + 1))
                }
            } catch is Refused {
                failures.add()
            } catch {
                Issue.record("unexpected error: \(error)")
            }
        }
        let recorded = try bytes(store)
        #expect(failures.value == 30)
        #expect(recorded.count == 60)
        let expected: Set<Int64> = Set((0..<90).filter { $0 % 3 != 0 }.map { Int64($0 + 1) })
        #expect(Set(recorded) == expected)
        #expect(try verify(store).problem == nil)
    }

    @Test func queuedAndWaitedWritesFromManyThreadsFormOneIntactChain() throws {
        let store = try GatewayStore(path: dir.file("db.sqlite"))
        DispatchQueue.concurrentPerform(iterations: 400) { n in
            if n % 2 == 0 {
                store.recordSoon(event(n)) { Issue.record("unexpected failure: \($0)") }
            } else {
                #expect(throws: Never.self) { try store.record(event(n)) }
            }
        }
        try store.flush()
        let expected: Set<Int64> = Set((0..<400).map { Int64($0) })
        #expect(try Set(bytes(store)) == expected)
        let v = try verify(store)
        #expect(v.problem == nil)
        #expect(v.entryCount == 400)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
