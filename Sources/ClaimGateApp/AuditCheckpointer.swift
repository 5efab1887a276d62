import ClaimGateCore
import Operations
import Foundation
import Logging
import ServiceLifecycle

/// Seals the audit trail with a signed checkpoint at least once per `interval` while `serve`
/// runs (only when entries were appended), and once more at shutdown.
public struct AuditCheckpointer: Service {
    let gateway: Gateway
    let interval: Duration

    public init(gateway: Gateway, interval: Duration = .seconds(60)) {
        self.gateway = gateway
        self.interval = interval
    }

    public func run() async throws {
        let interval = self.interval
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            await offload { seal() }
        }
    }

    private func seal() {
        // Only on the node that holds the job's lease (`LeaseKeeper`).
        guard gateway.currentLease(.checkpoints) != nil else { return }
        do { try gateway.sealAuditTrail() } catch {
            gateway.logger.error("audit checkpoint failed", metadata: ["error": "\(error)"])
        }
    }
}
