import Exchange
import Foundation
import ServiceLifecycle

/// Re-reads the partners every `interval` while `serve` runs, so that an agreement onboarded,
/// updated, suspended, resumed or removed from another process is logged (and in force for the
/// next request) within that time even when no partner is connected.
public struct PartnerWatch: Service {
    let exchange: GatewayExchange
    let interval: Duration

    public init(exchange: GatewayExchange, interval: Duration = .seconds(1)) {
        self.exchange = exchange; self.interval = interval
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let exchange = self.exchange
            await offload { exchange.refreshPartners() }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
