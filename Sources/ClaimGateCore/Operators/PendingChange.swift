import Foundation

/// A pending change's id: 10 characters from `a-z` and `2-9` (no `0`/`o`, `1`/`l` to misread),
/// random, short enough to type after `claimgate approve`.
public struct PendingChangeID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")

    /// - Throws: `ClaimGateError(.unknownChange)` when `raw` cannot be a change id.
    public init(_ raw: String) throws {
        guard raw.count == 10, raw.allSatisfy(Self.alphabet.contains) else {
            throw ClaimGateError(.unknownChange, "'\(EventReason.bounded(String(raw.prefix(40))))' is not a pending change: see `claimgate pending`.")
        }
        rawValue = raw
    }

    /// A new random id (50 bits).
    public static func random() -> PendingChangeID {
        var g = SystemRandomNumberGenerator()
        return try! PendingChangeID(String((0..<10).map { _ in alphabet[Int(g.next(upperBound: UInt(alphabet.count)))] }))
    }

    public init(from decoder: Decoder) throws { try self.init(decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Where a pending change stands. Only `pending` can change, once: to `approved` (a second
/// person applied it), `withdrawn` (its proposer took it back) or `expired` (7 days passed).
public enum PendingChangeState: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, approved, withdrawn, expired
}

/// A change to an agreement (or a grant of `security-officer`) that an operator asked for while
/// another operator holds the same role: it waits, as proposed, until a different operator with
/// that role approves it (four eyes, docs/operators.md). What it applies is its `payload`,
/// which holds every input it needs (the agreement file and the files it names, as read when
/// proposed): approval never reads a client's paths again.
public struct PendingChange: Sendable, Hashable {
    /// How long a change waits for its approval.
    public static let lifetime: TimeInterval = 7 * 86_400

    public var id: PendingChangeID
    /// What it does when approved: `partner-add`, `partner-update`, `partner-rotate`,
    /// `partner-remove`, `operator-add` or `operator-grant`.
    public var action: OperatorAction
    /// The partner it concerns, for a partner change.
    public var partner: PartnerID?
    /// The partner id or operator name it changes.
    public var target: String
    /// One line on what it does, for listings and the audit trail (no key material).
    public var summary: String
    /// Who proposed it, as the audit trail names actors (`operator:<name>;sha256=…`).
    public var proposedBy: String
    /// The proposing operator: a different operator must approve.
    public var proposer: OperatorID?
    public var created: Date
    public var expires: Date
    /// As stored: a change past `expires` that nobody touched since is still `pending` here
    /// (see `state(at:)`).
    public var state: PendingChangeState
    /// Who approved or withdrew it (an actor), when.
    public var settledBy: String?
    public var settledAt: Date?
    /// What the operations need to apply it, as they wrote it (JSON).
    public var payload: String

    public init(id: PendingChangeID, action: OperatorAction, partner: PartnerID?, target: String, summary: String,
                proposedBy: String, proposer: OperatorID?, created: Date, expires: Date? = nil,
                state: PendingChangeState = .pending, settledBy: String? = nil, settledAt: Date? = nil, payload: String) {
        self.id = id; self.action = action; self.partner = partner; self.target = target; self.summary = summary
        self.proposedBy = proposedBy; self.proposer = proposer; self.created = created
        self.expires = expires ?? created.addingTimeInterval(Self.lifetime)
        self.state = state; self.settledBy = settledBy; self.settledAt = settledAt; self.payload = payload
    }

    /// Its state at `now`: a pending change whose 7 days have passed is expired.
    public func state(at now: Date) -> PendingChangeState {
        state == .pending && now >= expires ? .expired : state
    }

    /// `k3m9x2p7qa partner-update acme-assessors`: how the audit trail names it.
    public var label: String { "\(id) \(action) \(target)" }
}
