import Foundation

/// What an operator looks for among bundles (the console's bundle search): any of a claim id
/// (a part of it, in any case), a partner, a state and the days it was created in; the newest
/// first, at most `limit`.
public struct BundleSearch: Sendable, Hashable {
    /// A part of the claim id, matched without regard to case.
    public var claim: String?
    /// The partner, as typed (checked against the operator's scope and the partners there are).
    public var partner: String?
    public var state: BundleState?
    /// Created at or after.
    public var createdFrom: Date?
    /// Created before.
    public var createdBefore: Date?
    public var limit: Int

    public init(claim: String? = nil, partner: String? = nil, state: BundleState? = nil, createdFrom: Date? = nil,
                createdBefore: Date? = nil, limit: Int = 200) {
        self.claim = claim; self.partner = partner; self.state = state
        self.createdFrom = createdFrom; self.createdBefore = createdBefore; self.limit = limit
    }
}
