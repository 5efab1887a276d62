import ClaimGateCore
import Foundation
import Store

/// What the front ends show: bundles, their history, deliveries, inbound reports and partners,
/// read through the operations so no front end touches the store. Each asks `authorize` first,
/// like the operations that change something: an operator sees only what its roles allow.
extension Gateway {
    /// Bundles, newest first; only `partner`'s when given (an unknown partner is an error). A
    /// listing of every partner's bundles is an action on every partner (refused to a scoped operator).
    public func bundles(partner raw: String? = nil, by principal: Principal) throws -> [BundleRecord] {
        if let raw { try authorize(.bundleList, partnerNamed: raw, by: principal) } else { try authorize(.bundleList, by: principal) }
        return try store.bundles(partner: raw.map { try partner($0).id })
    }

    /// One bundle (any spelling of its id) and its audit history, oldest first; `expired` when
    /// it is past its expiry in a state that would otherwise still be served.
    public func bundleWithHistory(_ raw: String, by principal: Principal) throws -> (bundle: BundleRecord, expired: Bool, history: [StoredEvent]) {
        let found = try BundleID(lenient: raw).flatMap { try store.bundle($0) }
        try authorize(.bundleShow, partner: found?.partnerID, by: principal)
        guard let b = found else {
            throw ClaimGateError(.unknownBundle, "No bundle '\(raw.prefix(64))': see `claimgate bundle list`.")
        }
        let expired = [.queued, .delivered, .downloaded, .acknowledged, .sealed].contains(b.state) && b.expires <= clock.now
        return (b, expired, try store.events(bundle: b.id))
    }

    /// Push deliveries, newest first; only those in `state` when given.
    public func deliveries(state: DeliveryState? = nil, by principal: Principal) throws -> [Delivery] {
        try authorize(.deliveriesView, by: principal)
        return try store.deliveries(states: state.map { [$0] })
    }

    /// Processed uploads, newest first.
    public func inboundReports(by principal: Principal) throws -> [InboundReport] {
        try authorize(.inboxList, by: principal)
        return try store.inboundReports()
    }

    /// Every onboarded partner (removed ones too, with their status).
    public func partners(by principal: Principal) throws -> [Partner] {
        try authorize(.partnerList, by: principal)
        return try store.partners()
    }

    /// One onboarded partner, as `partner show` shows it.
    public func partner(_ raw: String, by principal: Principal) throws -> Partner {
        try authorize(.partnerShow, partnerNamed: raw, by: principal)
        return try partner(raw)
    }
}
