import Audit
import ClaimGateCore
import ClaimGateTesting
import Foundation
import Store
import Testing

/// Group commit as the store's callers see it, on both backends: waited writes, changes queued to
/// ride in the next transaction, and one caller's failure leaving the others' changes in place.
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

    @Test(arguments: TestDatabase.allCases) func aQueuedChangeIsCommittedWithinMillisecondsWithoutAnyOtherWrite(_ backend: TestDatabase) throws {
        let location = try TestStore(backend, in: dir)
        let store = try location.open()
        store.recordSoon(event(1)) { Issue.record("unexpected failure: \($0)") }
        let deadline = Date().addingTimeInterval(5)
        while try bytes(store) != [1], Date() < deadline { usleep(2_000) }
        #expect(try bytes(store) == [1])
        // Another process (a fresh connection) sees it: it is committed, not only queued.
        #expect(try bytes(location.open()) == [1])
    }

    @Test(arguments: TestDatabase.allCases) func aWaitedWriteCommitsEverythingQueuedBeforeIt(_ backend: TestDatabase) throws {
        let location = try TestStore(backend, in: dir)
        let store = try location.open()
        for n in 1...20 { store.recordSoon(event(n)) { Issue.record("unexpected failure: \($0)") } }
        try store.record(event(21))
        // In order, and all on disk when the waited write returns.
        #expect(try bytes(location.open()) == Array(1...21))
        #expect(try verify(store).problem == nil)
    }

    @Test(arguments: TestDatabase.allCases) func flushCommitsWhatIsQueued(_ backend: TestDatabase) throws {
        let location = try TestStore(backend, in: dir)
        let store = try location.open()
        for n in 1...200 { store.recordSoon(event(n)) { Issue.record("unexpected failure: \($0)") } }
        try store.flush()
        #expect(try bytes(location.open()).count == 200)
    }

    @Test(arguments: TestDatabase.allCases) func oneCallersFailureLeavesTheOthersChangesInTheSameBatch(_ backend: TestDatabase) throws {
        let location = try TestStore(backend, in: dir)
        let store = try location.open()
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

    @Test(arguments: TestDatabase.allCases) func queuedAndWaitedWritesFromManyThreadsFormOneIntactChain(_ backend: TestDatabase) throws {
        let location = try TestStore(backend, in: dir)
        let store = try location.open()
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

/// Two nodes (two stores, each with its own connections and group commit) on one database.
@Suite struct SharedDatabaseTests {
    let dir = TemporaryDirectory("claimgate-store")

    @Test(arguments: TestDatabase.allCases) func twoNodesWritingAtOnceFormOneChainWithNoGapAndNoFork(_ backend: TestDatabase) throws {
        let location = try TestStore(backend, in: dir)
        let nodes = [try location.open(), try location.open()]
        DispatchQueue.concurrentPerform(iterations: 300) { n in
            let store = nodes[n % 2]
            let e = TransferEvent(time: Date(), actor: .system, action: .download, outcome: .success, bytes: Int64(n), transport: .https)
            if n % 3 == 0 {
                store.recordSoon(e) { Issue.record("unexpected failure: \($0)") }
            } else {
                #expect(throws: Never.self) { try store.record(e) }
            }
        }
        for node in nodes { try node.flush() }
        var entries: [AuditEntry] = []
        try location.open().forEachAuditEntry { entries.append($0) }
        let v = AuditVerifier.verify(entries: entries, keys: [])
        #expect(v.problem == nil)
        #expect(v.entryCount == 300)
        #expect(entries.map(\.sequence) == Array(1...300))
        // Times follow the sequence, whichever node wrote each entry.
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(Set(entries.compactMap(\.bytes)) == Set((0..<300).map { Int64($0) }))
    }
}
