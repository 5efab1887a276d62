import ClaimGateCore
import Foundation
import Store

/// What the front ends show: bundles, their history, deliveries, inbound reports and partners,
/// read through the operations so no front end touches the store. Each asks `authorize` first,
/// like the operations that change something: an operator sees only what its roles allow.
extension Gateway {
    /// Bundles, newest first; only `partner`'s when given (an unknown partner is an error). An
    /// operator scoped to some partners sees only its partners' bundles (a partner out of its
    /// scope, named, is refused).
    public func bundles(partner raw: String? = nil, by principal: Principal) throws -> [BundleRecord] {
        let scope = try listingScope(.bundleList, partnerNamed: raw, by: principal)
        return Self.narrowed(try store.bundles(partner: raw.map { try partner($0).id }), to: scope, \.partnerID)
    }

    /// The bundles matching `search` that the operator may list (its partner scope applied), newest
    /// first, at most `search.limit`, and how many match in all. Judged as `bundle list`.
    public func searchBundles(_ search: BundleSearch, by principal: Principal) throws -> (bundles: [BundleRecord], total: Int) {
        let scope = try listingScope(.bundleList, partnerNamed: search.partner, by: principal)
        let partner = try search.partner.map { try self.partner($0).id }
        return try store.searchBundles(search, partner: partner, scope: scope)
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

    /// Push deliveries, newest first; only those in `state`, and only `partner`'s, when given.
    /// An operator scoped to some partners sees only its partners' deliveries.
    public func deliveries(state: DeliveryState? = nil, partner raw: String? = nil, by principal: Principal) throws -> [Delivery] {
        let scope = try listingScope(.deliveriesView, partnerNamed: raw, by: principal)
        let id = try raw.map { try partner($0).id }
        let rows = try store.deliveries(states: state.map { [$0] }).filter { id == nil || $0.partnerID == id }
        return Self.narrowed(rows, to: scope, \.partnerID)
    }

    /// Processed uploads, newest first; only `partner`'s when given. An operator scoped to some
    /// partners sees only its partners' uploads.
    public func inboundReports(partner raw: String? = nil, by principal: Principal) throws -> [InboundReport] {
        let scope = try listingScope(.inboxList, partnerNamed: raw, by: principal)
        return Self.narrowed(try store.inboundReports(partner: raw.map { try partner($0).id }), to: scope, \.partnerID)
    }

    /// Every onboarded partner (removed ones too, with their status); an operator scoped to
    /// some partners sees only those.
    public func partners(by principal: Principal) throws -> [Partner] {
        let scope = try listingScope(.partnerList, partner: nil, by: principal)
        return Self.narrowed(try store.partners(), to: scope, \.id)
    }

    /// One onboarded partner, as `partner show` shows it.
    public func partner(_ raw: String, by principal: Principal) throws -> Partner {
        try authorize(.partnerShow, partnerNamed: raw, by: principal)
        return try partner(raw)
    }

    /// The rows of a listing an operator's scope lets it see: all of them for nil.
    static func narrowed<Row>(_ rows: [Row], to scope: Set<PartnerID>?, _ partner: (Row) -> PartnerID) -> [Row] {
        guard let scope else { return rows }
        return rows.filter { scope.contains(partner($0)) }
    }
}
