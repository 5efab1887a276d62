import ClaimGateCore
import Foundation

/// What `claimgate pending --json` prints for a pending change (and `approve --json` for the
/// change it approved).
public struct PendingChangeView: Codable, Sendable {
    public let id: String
    public let action: String
    public let partner: String?
    public let target: String
    public let summary: String
    /// At the gateway's clock: `pending`, `approved`, `withdrawn` or `expired`.
    public let state: String
    public let proposedBy: String
    public let created: String
    public let expires: String
    public let settledBy: String?
    public let settledAt: String?
    /// What it would do if approved now (`approve` and `pending show`); nil in listings.
    public let details: [String]?
    /// Why it cannot be approved now; nil when it can (or in listings).
    public let blocked: String?

    enum CodingKeys: String, CodingKey {
        case id, action, partner, target, summary, state, created, expires, details, blocked
        case proposedBy = "proposed_by", settledBy = "settled_by", settledAt = "settled_at"
    }

    public init(_ c: PendingChange, now: Date, details: [String]? = nil, blocked: String? = nil) {
        id = c.id.rawValue; action = c.action.rawValue; partner = c.partner?.rawValue; target = c.target; summary = c.summary
        state = c.state(at: now).rawValue; proposedBy = c.proposedBy
        created = Timestamp.format(c.created); expires = Timestamp.format(c.expires)
        settledBy = c.settledBy; settledAt = c.settledAt.map(Timestamp.format)
        self.details = details; self.blocked = blocked
    }

    public init(_ p: ChangePreview, now: Date) {
        self.init(p.change, now: now, details: p.details, blocked: p.blocked)
    }
}
