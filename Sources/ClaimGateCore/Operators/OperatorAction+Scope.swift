/// How an action meets an operator's partner scope when it names no partner.
extension OperatorAction {
    /// Listings whose rows each belong to one partner (bundles, deliveries, inbound reports,
    /// partners, pending changes): asked for without a partner, they are allowed to an operator
    /// scoped to some partners and show it only the rows of its partners (the operation narrows
    /// them). Every other action that names no partner concerns every partner at once (purge,
    /// doctor, the whole audit trail, operators) and is refused to a scoped operator.
    public var narrowsToScope: Bool {
        switch self {
        case .bundleList, .deliveriesView, .inboxList, .partnerList, .pendingList: return true
        default: return false
        }
    }
}
