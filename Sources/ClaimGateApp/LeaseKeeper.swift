import ClaimGateCore
import Foundation
import Operations
import ServiceLifecycle

/// Takes and renews this node's leases of the singleton jobs (deliveries, checkpoints, purge,
/// certificate watch) every `interval` while `serve` runs, and gives them up at shutdown, so that
/// with several nodes on one database each job runs on one node, and another node takes it over
/// within `Gateway.leaseDuration` plus `interval` when the holder dies. With one node, it holds
/// every lease.
public final class LeaseKeeper: Service, @unchecked Sendable {
    let gateway: Gateway
    let interval: TimeInterval

    public init(gateway: Gateway, interval: TimeInterval = 5) {
        self.gateway = gateway
        self.interval = interval
    }

    /// One round: takes or renews every job's lease this node can have.
    public func renew() {
        for job in SingletonJob.allCases {
            do { _ = try gateway.takeLease(job) } catch {
                gateway.logger.error("lease not renewed", metadata: ["job": "\(job.rawValue)", "error": "\(error)"])
            }
        }
    }

    public func run() async throws {
        let interval = self.interval
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
            if Task.isShuttingDownGracefully { break }
            await offload { self.renew() }
        }
        await offload { self.gateway.releaseLeases() }
    }
}
