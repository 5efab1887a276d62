import ClaimGateCore
import Operations
import Foundation
import Logging
import ServiceLifecycle

/// Runs `Gateway.purge` at start and then every `interval` while `serve` runs: expired and
/// recalled bundle files and inbound reports past retention are destroyed and recorded; web
/// console sessions idle past their timeout (or of operators no longer active) are cleared.
public struct PurgeJob: Service {
    let gateway: Gateway
    let interval: Duration
    let inboundRetentionDays: Int

    public init(gateway: Gateway, interval: Duration = .seconds(600), inboundRetentionDays: Int = 90) {
        self.gateway = gateway
        self.interval = interval
        self.inboundRetentionDays = inboundRetentionDays
    }

    public func run() async throws {
        let interval = self.interval
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let gateway = self.gateway, days = inboundRetentionDays
            await offload {
                // Only on the node that holds the job's lease (`LeaseKeeper`).
                guard gateway.currentLease(.purge) != nil else { return }
                do { try gateway.purge(inboundRetentionDays: days, by: .scheduled(.purge)) } catch {
                    gateway.logger.error("purge failed", metadata: ["error": "\(error)"])
                }
                // Idle sessions are refused when read already; this only clears their rows.
                do { try gateway.endIdleConsoleSessions() } catch {
                    gateway.logger.error("clearing idle console sessions failed", metadata: ["error": "\(error)"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
