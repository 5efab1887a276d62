import ClaimGateCore
import Foundation
import Store

/// Singleton jobs when several nodes share a database: each pass of a job first takes (or
/// renews) the job's lease; the node that holds it runs the pass, the others skip it. A lease
/// lasts `leaseDuration`; a node that dies stops renewing, and another takes the job over at its
/// next pass after the lease ran out (within `leaseDuration` plus the job's interval).
extension Gateway {
    /// This process as a lease holder: `<host>/<pid>/<random>`.
    public static let nodeID: String = {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "host"
        return "\(host)/\(getpid())/\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }()

    /// How long a lease lasts without renewal.
    public static let leaseDuration: TimeInterval = 15

    /// Takes or renews `job`'s lease for this node; nil when another node holds it. A read-only
    /// gateway holds no lease. A takeover from another node is logged.
    public func takeLease(_ job: SingletonJob) throws -> JobLease? {
        guard !isReadOnly else { return nil }
        let lease = try store.takeLease(job.rawValue, holder: Self.nodeID, now: clock.now, duration: Self.leaseDuration)
        if let lease {
            let previous = heldLeases.withLock { held in
                defer { held[job] = lease }
                return held[job]?.fence
            }
            if previous != lease.fence {
                logger.info("lease taken", metadata: ["job": "\(job.rawValue)", "fence": "\(lease.fence)", "node": "\(Self.nodeID)"])
            }
        } else if heldLeases.withLock({ $0.removeValue(forKey: job) }) != nil {
            logger.warning("lease lost to another node", metadata: ["job": "\(job.rawValue)", "node": "\(Self.nodeID)"])
        }
        return lease
    }

    /// The lease this node holds on `job` now (taken or renewed by `takeLease`, not run out);
    /// nil when another node runs the job, or this node could not renew it in time.
    public func currentLease(_ job: SingletonJob) -> JobLease? {
        guard let lease = heldLeases.withLock({ $0[job] }), lease.expires > clock.now else { return nil }
        return lease
    }

    /// Gives up every lease this node holds (at shutdown), so another node takes the jobs over
    /// at its next pass rather than after the leases run out.
    public func releaseLeases() {
        let held = heldLeases.withLock { h in defer { h = [:] }; return h }
        for job in held.keys {
            do { try store.releaseLease(job.rawValue, holder: Self.nodeID) } catch {
                logger.warning("lease not released", metadata: ["job": "\(job.rawValue)", "error": "\(error)"])
            }
        }
    }

    /// Every job's lease as recorded: who runs it, until when, and its fence.
    public func leases() throws -> [JobLease] { try store.leases() }
}
