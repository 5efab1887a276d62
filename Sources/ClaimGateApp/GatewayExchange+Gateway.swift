import ClaimGateCore
import Exchange
import Foundation
import Operations

extension GatewayExchange {
    /// The partner exchange of `gateway`'s home: its store, clock, logger, outbox and inboxes;
    /// committed uploads are processed by the gateway's inbound operations.
    public convenience init(gateway: Gateway, maxUploadBytes: Int64 = 512 << 20, directoryMaxAge: TimeInterval = 1) {
        let home = gateway.home
        self.init(store: gateway.store, clock: gateway.clock, logger: gateway.logger, outboxRoot: home.outbox,
                  inboxDirectory: { home.inbound(for: $0) }, digests: gateway.fileDigests, inbound: gateway,
                  maxUploadBytes: maxUploadBytes, directoryMaxAge: directoryMaxAge)
    }
}
