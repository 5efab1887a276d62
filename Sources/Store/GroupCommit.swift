import ClaimGateCore
import Foundation

/// Durable writes with group commit: concurrent callers' changes are committed together in one
/// transaction (one WAL fsync), each inside its own savepoint so one caller's failure does not
/// undo the others'. A call returns only after its transaction is durably committed, so an
/// operation is never acknowledged before its audit entry is on disk.
///
/// No thread of its own: the first caller becomes the leader and commits everything queued;
/// when its own change is committed it hands leadership to the next waiting caller, if any.
///
/// A change nobody needs to wait for (the end of a download, whose start is already on disk)
/// can be enqueued instead: it rides in the next transaction, so a kept-alive connection's
/// requests cost one commit each rather than two, and is committed on its own after `linger`
/// (5 ms) when no other write comes. `flush()` (at shutdown) commits what is queued.
final class GroupCommit: @unchecked Sendable {
    private let writer: any SQLDatabase
    private let lock = NSLock()
    private var pending: [Operation] = []
    private var busy = false
    /// Whether a flush of lingering changes is scheduled.
    private var flushScheduled = false
    /// Most changes committed in one transaction.
    let maxBatch: Int
    /// How long a change nobody waits for (`enqueue`) may wait for a transaction to join.
    let linger: DispatchTimeInterval
    private let flushQueue = DispatchQueue(label: "claimgate.store.group-commit")

    init(_ writer: any SQLDatabase, maxBatch: Int = 512, linger: DispatchTimeInterval = .milliseconds(5)) {
        self.writer = writer
        self.maxBatch = maxBatch
        self.linger = linger
    }

    private final class Operation: @unchecked Sendable {
        let body: (any SQLSession) throws -> Void
        /// Set for an enqueued change: nobody waits; a failure goes here.
        let onFailure: ((any Error) -> Void)?
        var error: (any Error)?
        var committed = false
        /// Set (under the lock) when this waiting caller becomes the leader.
        var promoted = false
        let signal = DispatchSemaphore(value: 0)
        init(_ body: @escaping (any SQLSession) throws -> Void, onFailure: ((any Error) -> Void)? = nil) {
            self.body = body
            self.onFailure = onFailure
        }
        var isWaited: Bool { onFailure == nil }
    }

    /// Runs `body` in a savepoint of the next group transaction and waits for the commit.
    /// - Throws: `body`'s error (its changes rolled back), or `ClaimGateError(.auditUnavailable)`
    ///   when the transaction could not be committed (nothing of it was kept).
    func write<T>(_ body: @escaping (any SQLSession) throws -> T) throws -> T {
        var result: T?
        let op = Operation { db in result = try body(db) }
        lock.lock()
        pending.append(op)
        let lead = !busy
        if lead { busy = true }
        lock.unlock()
        if !lead {
            // Woken when a leader committed our change, or when we are promoted to lead.
            op.signal.wait()
            if op.committed {
                if let error = op.error { throw error }
                return result!
            }
        }
        // Leader: commit queued changes until ours is committed (it is in the first batch
        // unless more than maxBatch were queued ahead of it).
        while !op.committed { commitNextBatch(excluding: op) }
        handOver()
        if let error = op.error { throw error }
        return result!
    }

    /// Queues `body` for the next group transaction without waiting for it: it joins the next
    /// `write`'s transaction, or is committed on its own after `linger`. Changes stay in order:
    /// a later `write` commits after (or with) everything enqueued before it. A failure is
    /// reported to `onFailure` (on the committing thread).
    func enqueue(_ body: @escaping (any SQLSession) throws -> Void, onFailure: @escaping (any Error) -> Void) {
        lock.lock()
        pending.append(Operation(body, onFailure: onFailure))
        let schedule = !busy && !flushScheduled
        if schedule { flushScheduled = true }
        lock.unlock()
        if schedule { flushQueue.asyncAfter(deadline: .now() + linger) { [self] in flushLingering() } }
    }

    /// Waits until everything written or enqueued before this call is committed.
    func flush() throws {
        try write { _ in }
    }

    private func flushLingering() {
        lock.lock()
        flushScheduled = false
        guard !busy, !pending.isEmpty else { lock.unlock(); return }
        busy = true
        lock.unlock()
        commitNextBatch(excluding: nil)
        handOver()
    }

    private func commitNextBatch(excluding leader: Operation?) {
        lock.lock()
        let batch = Array(pending.prefix(maxBatch))
        pending.removeFirst(batch.count)
        lock.unlock()
        commit(batch)
        for o in batch where o !== leader {
            if let report = o.onFailure {
                if let error = o.error { report(error) }
            } else {
                o.signal.signal()
            }
        }
    }

    /// The leader is done: the first waiting caller leads next; changes nobody waits for
    /// linger for the next transaction (or their own, after `linger`).
    private func handOver() {
        lock.lock()
        if let next = pending.first(where: \.isWaited) {
            next.promoted = true
            lock.unlock()
            next.signal.signal()
            return
        }
        busy = false
        let schedule = !pending.isEmpty && !flushScheduled
        if schedule { flushScheduled = true }
        lock.unlock()
        if schedule { flushQueue.asyncAfter(deadline: .now() + linger) { [self] in flushLingering() } }
    }

    private func commit(_ batch: [Operation]) {
        do {
            try writer.write { db in
                for op in batch {
                    // A savepoint per change, kept prepared: every write pays for these three.
                    try db.execute("SAVEPOINT op", [], cached: true)
                    do {
                        try op.body(db)
                    } catch {
                        op.error = error
                        try db.execute("ROLLBACK TO SAVEPOINT op", [], cached: true)
                    }
                    try db.execute("RELEASE SAVEPOINT op", [], cached: true)
                }
            }
        } catch {
            let failure = ClaimGateError(
                .auditUnavailable,
                "The gateway database (and its audit trail) cannot be written, so nothing was done: \(writer.describeWriteFailure(error)). Free disk space or stop whatever holds the database, then retry.",
                diagnostics: "\(error)")
            for op in batch { op.error = failure }
        }
        for op in batch { op.committed = true }
    }
}
