import ClaimGateCore
import Operations
import Foundation
import Logging
import ServiceLifecycle

/// Runs `Gateway.purge` at start and then every `interval` while `serve` runs: expired and
/// recalled bundle files and inbound reports past retention are destroyed and recorded.
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
                do { try gateway.purge(inboundRetentionDays: days, by: .scheduled(.purge)) } catch {
                    gateway.logger.error("purge failed", metadata: ["error": "\(error)"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
