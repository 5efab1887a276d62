import Audit
import ClaimGateCore
import Foundation
import Store

// The staff sections of the monthly access review (issue 16, docs/audit-reports.md): what each
// operator did, every action taken at the gateway host's shell, and the grants review. Built
// from SQL aggregates over operators' own entries (the partial index `event_operator_actor`),
// the shell's entries of the month, and the operator changes; never from the whole trail.

// MARK: - Per-operator activity

/// What an operator did in the period: its entries by kind and action, its refusals by reason,
/// and the certificates it acted with. Entries of every certificate the operator had count
/// under its name.
public struct OperatorActivity: Sendable, Encodable, Equatable {
    /// The operator's name (`operator:<name>` in the trail).
    public var `operator`: String
    /// `active`, `suspended` or `removed` when the report is generated; nil when the store has no
    /// operator of that name (an entry no gateway writes).
    public var state: String?
    /// Every entry of the operator in the period: actions and refusals.
    public var entries: Int
    public var firstTime: String
    public var lastTime: String
    public var firstSequence: Int64
    public var lastSequence: Int64
    /// Actions (entries not refused) by kind (`send`, `partner-change`…).
    public var byKind: [String: Int]
    public var actions: [OperatorActionCount]
    public var refusals: [OperatorRefusalCount]
    public var certificates: [OperatorCertificateUse]
}

/// Entries of one action that were not refused.
public struct OperatorActionCount: Sendable, Encodable, Equatable {
    /// `OperatorActivityKind`'s raw value.
    public var kind: String
    /// The entry's action (`queue`, `partner-suspended`, `operator-granted`…).
    public var action: String
    public var count: Int

    public init(kind: String, action: String, count: Int) {
        self.kind = kind; self.action = action; self.count = count
    }
}

/// Refused entries of one action and reason code.
public struct OperatorRefusalCount: Sendable, Encodable, Equatable {
    /// The entry's action: `operator-refused` (the role table, the scope or the operator's
    /// standing said no), `seal-refused`, `partner-refused`…
    public var action: String
    /// The reason code (`role-missing`, `partner-out-of-scope`…); empty when there is none.
    public var reason: String
    /// For `operator-refused`: the action the operator asked for (`partner-suspend`…).
    public var refusedAction: String?
    public var count: Int

    public init(action: String, reason: String, refusedAction: String?, count: Int) {
        self.action = action; self.reason = reason; self.refusedAction = refusedAction; self.count = count
    }
}

/// One certificate an operator acted with in the period.
public struct OperatorCertificateUse: Sendable, Encodable, Equatable {
    /// SHA-256 of the certificate's DER, lowercase hex, as the actor text records it.
    public var sha256: String
    public var entries: Int
    public var firstTime: String
    public var lastTime: String
    /// Whether it is the certificate the operator has on record now.
    public var current: Bool
}

/// How the review groups an operator's actions.
public enum OperatorActivityKind: String, Sendable, CaseIterable {
    /// Sealed to a file (`seal`).
    case seal
    /// Sealed into a partner's outbox (`queue`).
    case send
    /// A partner added, updated or rotated, suspended, resumed or removed.
    case partnerChange = "partner-change"
    case recall
    /// A push delivery retried or cancelled (`delivery-retried`, `delivery-cancelled`).
    case delivery
    /// Inbound documents copied out (`inbound-exported`).
    case inboxExport = "inbox-export"
    /// The audit trail exported (`audit-exported`).
    case auditExport = "audit-export"
    case purge
    /// Operators added, suspended, resumed, removed, granted or revoked.
    case operatorManagement = "operator-management"
    /// Any other entry.
    case other

    /// The kind of an entry's action, and the operator action (`OperatorAction`) that records it,
    /// which says which roles and grants it needs. Only actions that change something or copy
    /// something out are recorded; listings and reports record nothing.
    public static func of(action: String) -> (kind: OperatorActivityKind, action: OperatorAction?) {
        switch TransferEvent.Action(rawValue: action) {
        case .seal: return (.seal, .seal)
        case .queue: return (.send, .send)
        case .partnerOnboarded: return (.partnerChange, .partnerAdd)
        case .partnerUpdated: return (.partnerChange, .partnerUpdate)
        case .partnerSuspended: return (.partnerChange, .partnerSuspend)
        case .partnerResumed: return (.partnerChange, .partnerResume)
        case .partnerRemoved: return (.partnerChange, .partnerRemove)
        case .recall: return (.recall, .bundleRecall)
        case .deliveryRetried: return (.delivery, .deliveryRetry)
        case .deliveryCancelled: return (.delivery, .deliveryCancel)
        case .inboundExported: return (.inboxExport, .inboxExport)
        case .auditExported: return (.auditExport, .auditExport)
        case .purge: return (.purge, .purge)
        case .operatorAdded: return (.operatorManagement, .operatorAdd)
        case .operatorSuspended: return (.operatorManagement, .operatorSuspend)
        case .operatorResumed: return (.operatorManagement, .operatorResume)
        case .operatorRemoved: return (.operatorManagement, .operatorRemove)
        case .operatorGranted: return (.operatorManagement, .operatorGrant)
        case .operatorRevoked: return (.operatorManagement, .operatorRevoke)
        default: return (.other, nil)
        }
    }
}

// MARK: - Local use

/// One entry recorded at the gateway host's shell: bootstrap or break-glass, each for a
/// reviewer to account for.
public struct LocalAction: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable {
        /// `local:uid=<uid>(<name>)`: the account of the process's real uid.
        case local
        /// `admin:<user>`, recorded before operators: the user is what `$USER` said, which anyone
        /// could set.
        case legacyAdmin = "legacy-admin"
    }
    public var sequence: Int64
    public var time: String
    public var kind: Kind
    /// The actor as recorded.
    public var actor: String
    /// The real uid (`local` only).
    public var uid: UInt32?
    /// The account's name (`local`), or the `$USER` an `admin:` entry recorded.
    public var account: String?
    public var action: String
    public var outcome: String
    public var partner: String?
    public var bundleID: String?
    public var claimID: String?
    public var reasonCode: String?
    /// What the entry concerned, as its `subject` column holds it (an operator change, a
    /// partner's reason, a refused action…).
    public var subject: String?
}

// MARK: - Grants review

/// Every operator's roles and grants as they stand when the report is generated, who gave each
/// and when (from the trail's operator changes), when each was last used, and which have gone
/// unused for `unusedDays`.
public struct GrantsReview: Sendable, Encodable, Equatable {
    /// The time use and idleness are measured at: the end of the period, or the time the report
    /// was generated when the period is not over.
    public var reviewedAt: String
    /// A right held and not used for at least this many days (to `reviewedAt`) is flagged.
    public var unusedDays: Int
    /// How "last used" is found (see docs/audit-reports.md): `per-right-with-reads` (the trail's
    /// entries and the uses `authorize` notes, listings and reports included).
    public var lastUseBasis: String
    public var operators: [OperatorGrants]
}

/// One operator in the grants review.
public struct OperatorGrants: Sendable, Encodable, Equatable {
    public var `operator`: String
    /// `active`, `suspended` or `removed`. A removed operator's rights are listed as they were
    /// when it was removed and never flagged: it can no longer act.
    public var state: String
    /// The partners it may act on; empty with `allPartners`.
    public var partners: [String]
    public var allPartners: Bool
    /// The certificate on record: its SHA-256 and end (audit-format time).
    public var certificateSha256: String
    public var certificateNotAfter: String
    /// Who added it (as the trail names them) and when.
    public var addedBy: String
    public var addedAt: String
    /// Who last changed its state, roles or grants, and when.
    public var changedBy: String
    public var changedAt: String
    /// Its last action that succeeded before `reviewedAt` (any kind), over the whole trail.
    public var lastAction: String?
    public var lastActionName: String?
    public var rights: [GrantUse]
}

/// One role or grant an operator holds.
public struct GrantUse: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable {
        case role, grant
    }
    /// `claims-operator`, `auditor`…, or `inbox-export`.
    public var right: String
    public var kind: Kind
    /// The entry that gave it (the operator's addition, or an `operator-granted` after which it
    /// was held without a break): its actor as recorded, time and sequence. Nil when the trail
    /// holds no such entry.
    public var grantedBy: String?
    public var grantedAt: String?
    public var grantedSequence: Int64?
    /// The operator's last action before `reviewedAt` that needed this right (an action this
    /// role allows, or `inbox export` for the grant): its last entry in the whole trail, or a
    /// later use `authorize` noted (a listing, a show, a report; `lastUsedSequence` nil then).
    public var lastUsed: String?
    public var lastUsedAction: String?
    public var lastUsedSequence: Int64?
    /// Whole days from its last use (or, if later or never used, from when it was given) to
    /// `reviewedAt`.
    public var idleDays: Int?
    /// Held and not used for at least `unusedDays`.
    public var unused: Bool
}

// MARK: - Building the sections

extension Gateway {
    /// The staff sections of the access review of `[since, until)`: per-operator activity,
    /// the shell's entries, and the grants review at `reviewedAt`. Reads only.
    /// - Parameters:
    ///   - partner: only entries naming this partner, and only operators whose scope covers it.
    ///   - unusedDays: a right unused this many days (to `reviewedAt`) is flagged.
    func staffReview(since: String, until: String, reviewedAt: Date, partner: PartnerID?,
                     unusedDays: Int) throws -> (operators: [OperatorActivity], local: [LocalAction], grants: GrantsReview) {
        let stored = try store.operators()
        let byName = Dictionary(stored.map { ($0.id.rawValue, $0) }, uniquingKeysWith: { a, _ in a })

        // Per-operator activity: one row per actor text (name and certificate), action, outcome
        // and reason; each actor text read once.
        var activity: [String: OperatorActivity] = [:]
        var certificates: [String: [String: OperatorCertificateUse]] = [:]
        var actions: [String: [String: OperatorActionCount]] = [:]
        var refusals: [String: [String: OperatorRefusalCount]] = [:]
        for row in try store.operatorEntryCounts(since: since, until: until, partner: partner?.rawValue) {
            let (name, fingerprint) = StaffActor.operatorName(row.actor)
            var a = activity[name] ?? OperatorActivity(
                operator: name, state: byName[name]?.state.rawValue, entries: 0, firstTime: row.firstTime, lastTime: row.lastTime,
                firstSequence: row.firstSequence, lastSequence: row.lastSequence, byKind: [:], actions: [], refusals: [], certificates: [])
            a.entries += row.count
            if row.firstSequence < a.firstSequence { a.firstSequence = row.firstSequence; a.firstTime = row.firstTime }
            if row.lastSequence > a.lastSequence { a.lastSequence = row.lastSequence; a.lastTime = row.lastTime }
            activity[name] = a

            // A console session presents no certificate: its entries count, no certificate use.
            if let fingerprint {
                var c = certificates[name]?[fingerprint] ?? OperatorCertificateUse(
                    sha256: fingerprint, entries: 0, firstTime: row.firstTime, lastTime: row.lastTime,
                    current: byName[name]?.certificate.fingerprint == fingerprint)
                c.entries += row.count
                c.firstTime = min(c.firstTime, row.firstTime); c.lastTime = max(c.lastTime, row.lastTime)
                certificates[name, default: [:]][fingerprint] = c
            }

            if row.outcome == TransferEvent.Outcome.refused.rawValue {
                let key = [row.action, row.reasonCode, row.refusedAction ?? ""].joined(separator: "\u{0}")
                var r = refusals[name]?[key] ?? OperatorRefusalCount(action: row.action, reason: row.reasonCode,
                                                                     refusedAction: row.refusedAction, count: 0)
                r.count += row.count
                refusals[name, default: [:]][key] = r
            } else {
                let kind = OperatorActivityKind.of(action: row.action).kind.rawValue
                var n = actions[name]?[row.action] ?? OperatorActionCount(kind: kind, action: row.action, count: 0)
                n.count += row.count
                actions[name, default: [:]][row.action] = n
            }
        }
        let kindOrder = Dictionary(uniqueKeysWithValues: OperatorActivityKind.allCases.enumerated().map { ($1.rawValue, $0) })
        let operators = activity.values.sorted { $0.operator < $1.operator }.map { a in
            var a = a
            a.actions = (actions[a.operator] ?? [:]).values.sorted { (kindOrder[$0.kind] ?? 99, $0.action) < (kindOrder[$1.kind] ?? 99, $1.action) }
            for n in a.actions { a.byKind[n.kind, default: 0] += n.count }
            a.refusals = (refusals[a.operator] ?? [:]).values.sorted {
                ($0.action, $0.reason, $0.refusedAction ?? "") < ($1.action, $1.reason, $1.refusedAction ?? "")
            }
            a.certificates = (certificates[a.operator] ?? [:]).values.sorted { ($0.firstTime, $0.sha256) < ($1.firstTime, $1.sha256) }
            return a
        }

        // The shell's entries, one by one.
        var local: [LocalAction] = []
        try store.forEachLocalAction(since: since, until: until, partner: partner?.rawValue) { e in
            let account = StaffActor.localAccount(e.actor)
            local.append(LocalAction(sequence: e.sequence, time: e.time, kind: account.kind, actor: e.actor, uid: account.uid,
                                     account: account.name, action: e.action, outcome: e.outcome, partner: e.partnerID,
                                     bundleID: e.bundleID, claimID: e.claimID, reasonCode: e.reasonCode, subject: e.subject))
        }

        return (operators, local, try grantsReview(stored, reviewedAt: reviewedAt, partner: partner, unusedDays: unusedDays))
    }

    private func grantsReview(_ stored: [Operator], reviewedAt: Date, partner: PartnerID?, unusedDays: Int) throws -> GrantsReview {
        let at = AuditTime.format(reviewedAt)
        // Uses `authorize` noted without waiting are committed first.
        if !store.isReadOnly { try store.flush() }
        let history = OperatorGrantHistory(try store.operatorChanges())

        // Each operator's last successful entry per action before the review time, whatever
        // certificate it used.
        var lastUses: [String: [GatewayStore.OperatorLastUse]] = [:]
        for use in try store.operatorLastUses(before: at) {
            lastUses[StaffActor.operatorName(use.actor).name, default: []].append(use)
        }
        func latest(_ uses: some Sequence<GatewayStore.OperatorLastUse>) -> GatewayStore.OperatorLastUse? {
            uses.max { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
        }
        // Each operator's last use of each right before the review time as `authorize` noted it
        // (reads included, which the trail does not record).
        var noted: [String: [String: GatewayStore.RightUse]] = [:]
        for use in try store.rightUses(before: at) { noted[use.operatorName, default: [:]][use.right] = use }

        let limit = TimeInterval(unusedDays) * 86_400
        var reviewed: [OperatorGrants] = []
        for op in stored {
            if let partner, let scope = op.partners, !scope.contains(partner) { continue }
            let name = op.id.rawValue
            let uses = lastUses[name] ?? []
            let given = history.provenance(of: name)
            var rights: [(right: String, kind: GrantUse.Kind, needs: (OperatorAction) -> Bool)] = []
            for role in op.roles.sorted() {
                rights.append((role.rawValue, .role, { $0 == .inboxExport ? role == .claimsOperator : role.actions.contains($0) }))
            }
            for grant in op.grants.sorted() {
                rights.append((grant.rawValue, .grant, { grant == .inboxExport && $0 == .inboxExport }))
            }
            let grantUses = rights.map { r -> GrantUse in
                let entry = latest(uses.filter { OperatorActivityKind.of(action: $0.action).action.map(r.needs) ?? false })
                let g = given[r.right]
                var u = GrantUse(right: r.right, kind: r.kind, grantedBy: g?.actor, grantedAt: g?.time, grantedSequence: g?.sequence,
                                 lastUsed: entry?.time, lastUsedAction: entry?.action, lastUsedSequence: entry?.sequence, idleDays: nil, unused: false)
                // A later use noted by `authorize` (a listing, a show, a report) counts too.
                if let read = noted[name]?[r.right], read.time > (entry?.time ?? "") {
                    u.lastUsed = read.time; u.lastUsedAction = read.action; u.lastUsedSequence = nil
                }
                // Idle since the later of its last use and when it was given (the operator's
                // addition when the trail does not say).
                let since = [u.lastUsed, g?.time ?? AuditTime.format(op.createdAt)].compactMap { $0 }.max()
                if let since, let start = AuditTime.parse(since) {
                    let idle = reviewedAt.timeIntervalSince(start)
                    u.idleDays = idle < 0 ? 0 : Int(idle / 86_400)
                    u.unused = op.state != .removed && idle >= limit
                }
                return u
            }
            let last = latest(uses)
            reviewed.append(OperatorGrants(
                operator: name, state: op.state.rawValue, partners: (op.partners ?? []).map(\.rawValue).sorted(),
                allPartners: op.partners == nil, certificateSha256: op.certificate.fingerprint,
                certificateNotAfter: AuditTime.format(op.certificate.notAfter), addedBy: op.createdBy,
                addedAt: AuditTime.format(op.createdAt), changedBy: op.changedBy, changedAt: AuditTime.format(op.changedAt),
                lastAction: last?.time, lastActionName: last?.action, rights: grantUses))
        }
        return GrantsReview(reviewedAt: at, unusedDays: unusedDays, lastUseBasis: "per-right-with-reads", operators: reviewed)
    }
}

// MARK: - Reading what the trail records

/// Reads the actor texts of staff entries, with `Actor(recorded:)`: the one place the review
/// looks inside an actor.
enum StaffActor {
    /// An operator's name and certificate fingerprint from `operator:<name>;sha256=<fp>`, or its
    /// name and no fingerprint from a console session's `operator:<name>;session=<ref>`. Text no
    /// gateway writes is kept whole as the name (with an empty fingerprint), so it is listed, not
    /// lost.
    static func operatorName(_ actor: String) -> (name: String, fingerprint: String?) {
        switch Actor(recorded: actor) {
        case .operator(let id, let fingerprint)?: return (id.rawValue, fingerprint)
        case .consoleOperator(let id, _)?: return (id.rawValue, nil)
        default: return (actor, "")
        }
    }

    /// The account of a `local:` or `admin:` entry.
    static func localAccount(_ actor: String) -> (kind: LocalAction.Kind, uid: UInt32?, name: String?) {
        switch Actor(recorded: actor) {
        case .local(let uid, let name)?: return (.local, uid, name)
        case .admin(let user)?: return (.legacyAdmin, nil, user)
        default: return (actor.hasPrefix("admin:") ? .legacyAdmin : .local, nil, nil)
        }
    }

    /// `operator:sam (sha256 1a2b3c4d…)` for an operator, the text itself otherwise: for
    /// reading, the full text is in JSON and CSV.
    static func short(_ actor: String) -> String {
        if case .operator(let id, let fingerprint)? = Actor(recorded: actor) {
            return "operator:\(id) (sha256 \(fingerprint.prefix(8))…)"
        }
        if case .consoleOperator(let id, let session)? = Actor(recorded: actor) {
            return "operator:\(id) (console \(session.prefix(8))…)"
        }
        if actor.hasPrefix("admin:") { return actor + " (legacy)" }
        return actor
    }
}

/// Who gave each right an operator holds, replayed from the trail's operator changes.
///
/// Every change names the operator first in its subject and, for an addition, a grant or a
/// revocation, what it holds after it (`claire roles=claims-operator grants=inbox-export
/// partners=* sha256=…`; `claire auditor -> roles=auditor,claims-operator grants=- partners=*`;
/// Gateway+Operators writes them). That text is written by the gateway from a closed vocabulary
/// (operator names, roles and grants): no column holds the right a change gave, so this is the
/// one place that reads it. A right appears with the first change after which the operator
/// holds it, and is forgotten when a change leaves the operator without it.
struct OperatorGrantHistory {
    struct Given: Equatable {
        var actor: String
        var time: String
        var sequence: Int64
    }
    private var given: [String: [String: Given]] = [:]

    init(_ changes: [GatewayStore.RecordedAction]) {
        for c in changes {
            guard let subject = c.subject, let held = Self.heldAfter(subject) else { continue }
            var rights = given[held.name] ?? [:]
            for right in rights.keys where !held.rights.contains(right) { rights[right] = nil }
            for right in held.rights where rights[right] == nil {
                rights[right] = Given(actor: c.actor, time: c.time, sequence: c.sequence)
            }
            given[held.name] = rights
        }
    }

    /// Right → the change that gave it, for an operator.
    func provenance(of name: String) -> [String: Given] { given[name] ?? [:] }

    /// The operator a change subject names and the roles and grants it holds after the change;
    /// nil for a change that does not say (a suspension, resumption or removal).
    static func heldAfter(_ subject: String) -> (name: String, rights: Set<String>)? {
        let words = subject.split(separator: " ")
        guard let name = words.first.map(String.init), (try? OperatorID(name)) != nil else { return nil }
        var rights = Set<String>(), said = false
        for w in words.dropFirst() {
            for (key, known) in [("roles=", Set(Role.allCases.map(\.rawValue))), ("grants=", Set(OperatorGrant.allCases.map(\.rawValue)))]
            where w.hasPrefix(key) {
                said = true
                rights.formUnion(w.dropFirst(key.count).split(separator: ",").map(String.init).filter(known.contains))
            }
        }
        return said ? (name, rights) : nil
    }
}
