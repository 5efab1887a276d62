import ClaimGateCore
import Foundation
import Store

/// What the front ends show: bundles, their history, deliveries, inbound reports and partners,
/// read through the operations so no front end touches the store.
extension Gateway {
    /// Bundles, newest first; only `partner`'s when given (an unknown partner is an error).
    public func bundles(partner raw: String? = nil) throws -> [BundleRecord] {
        try store.bundles(partner: raw.map { try partner($0).id })
    }

    /// One bundle (any spelling of its id) and its audit history, oldest first; `expired` when
    /// it is past its expiry in a state that would otherwise still be served.
    public func bundleWithHistory(_ raw: String) throws -> (bundle: BundleRecord, expired: Bool, history: [StoredEvent]) {
        guard let id = BundleID(lenient: raw), let b = try store.bundle(id) else {
            throw ClaimGateError(.unknownBundle, "No bundle '\(raw.prefix(64))': see `claimgate bundle list`.")
        }
        let expired = [.queued, .delivered, .downloaded, .acknowledged, .sealed].contains(b.state) && b.expires <= clock.now
        return (b, expired, try store.events(bundle: id))
    }

    /// Push deliveries, newest first; only those in `state` when given.
    public func deliveries(state: DeliveryState? = nil) throws -> [Delivery] {
        try store.deliveries(states: state.map { [$0] })
    }

    /// Processed uploads, newest first.
    public func inboundReports() throws -> [InboundReport] { try store.inboundReports() }

    /// Every onboarded partner (removed ones too, with their status).
    public func partners() throws -> [Partner] { try store.partners() }
}
