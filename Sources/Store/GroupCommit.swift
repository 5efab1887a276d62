import ClaimGateCore
import Foundation
import GRDB

/// Durable writes with group commit: concurrent callers' changes are committed together in one
/// transaction (one WAL fsync), each inside its own savepoint so one caller's failure does not
/// undo the others'. A call returns only after its transaction is durably committed, so an
/// operation is never acknowledged before its audit entry is on disk.
///
/// No thread of its own: the first caller becomes the leader and commits everything queued;
/// when its own change is committed it hands leadership to the next waiting caller, if any.
final class GroupCommit: @unchecked Sendable {
    private let writer: any DatabaseWriter
    private let lock = NSLock()
    private var pending: [Operation] = []
    private var busy = false
    /// Most changes committed in one transaction.
    let maxBatch: Int

    init(_ writer: any DatabaseWriter, maxBatch: Int = 512) {
        self.writer = writer
        self.maxBatch = maxBatch
    }

    private final class Operation: @unchecked Sendable {
        let body: (Database) throws -> Void
        var error: (any Error)?
        var committed = false
        /// Set (under the lock) when this waiting caller becomes the leader.
        var promoted = false
        let signal = DispatchSemaphore(value: 0)
        init(_ body: @escaping (Database) throws -> Void) { self.body = body }
    }

    /// Runs `body` in a savepoint of the next group transaction and waits for the commit.
    /// - Throws: `body`'s error (its changes rolled back), or `ClaimGateError(.auditUnavailable)`
    ///   when the transaction could not be committed (nothing of it was kept).
    func write<T>(_ body: @escaping (Database) throws -> T) throws -> T {
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
        while !op.committed {
            lock.lock()
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            lock.unlock()
            commit(batch)
            for o in batch where o !== op { o.signal.signal() }
        }
        // Hand over: the next waiting caller leads, or nobody is busy.
        lock.lock()
        if let next = pending.first {
            next.promoted = true
            lock.unlock()
            next.signal.signal()
        } else {
            busy = false
            lock.unlock()
        }
        if let error = op.error { throw error }
        return result!
    }

    private func commit(_ batch: [Operation]) {
        do {
            try writer.write { db in
                for op in batch {
                    do {
                        try db.inSavepoint {
                            try op.body(db)
                            return .commit
                        }
                    } catch {
                        op.error = error
                    }
                }
            }
        } catch {
            let failure = ClaimGateError(
                .auditUnavailable,
                "The gateway database (and its audit trail) cannot be written, so nothing was done: \(Self.describe(error)). Free disk space or stop whatever holds the database, then retry.",
                diagnostics: "\(error)")
            for op in batch { op.error = failure }
        }
        for op in batch { op.committed = true }
    }

    static func describe(_ error: any Error) -> String {
        guard let e = error as? DatabaseError else { return "\(error)" }
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "the database is locked by another process"
        case .SQLITE_FULL: return "the disk is full"
        case .SQLITE_READONLY: return "the database is read-only"
        case .SQLITE_IOERR: return "an I/O error occurred"
        default: return e.message ?? "\(e.resultCode)"
        }
    }
}
