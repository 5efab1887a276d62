import ClaimGateCore
import Envelope
import Foundation
import Store

/// Everything a pending change needs to be applied later exactly as proposed, as JSON in
/// `pending_change.payload`: the files it read (never read again from a client's paths) and
/// its options.
enum ChangePayload: Codable {
    /// `partner add` (`version` nil) or `partner update` (`version`: the agreement version it
    /// replaces): the agreement file's absolute path and every file read, by absolute path.
    case agreement(path: String, files: [String: Data], version: Int?)
    /// `partner rotate`: the certificate file (and its content), the day, the version it replaces.
    case rotation(encryption: String, files: [String: Data], from: CalendarDay?, version: Int)
    /// `partner remove`.
    case removal(force: Bool, reason: String?)
    /// `operator grant NAME ROLE`.
    case grant(role: Role)
    /// `operator add NAME …`; with the public key (PEM) the operator sent, when its private key
    /// stays with it (the operator API), nil when the gateway makes the key on approval.
    case operatorAdd(roles: [Role], grants: [OperatorGrant], partners: [String]?, days: Int, publicKey: String? = nil)

    /// Whether applying the change makes a private key at the gateway: an `operator add` whose
    /// certificate is issued with a key the gateway generates, for the approver to hand over.
    /// Such a key leaves the gateway host only through `claimgate approve ID --out DIR` at its
    /// shell, never through the operator API. (Each case is spelt out: a payload that carries
    /// the operator's own public key makes no private key, and must say so here.)
    var generatesPrivateKey: Bool {
        switch self {
        case .operatorAdd(_, _, _, _, let publicKey): return publicKey == nil
        case .agreement, .rotation, .removal, .grant: return false
        }
    }

    func encoded() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }

    static func decode(_ change: PendingChange) throws -> ChangePayload {
        do { return try JSONDecoder().decode(ChangePayload.self, from: Data(change.payload.utf8)) } catch {
            throw ClaimGateError(.io, "Pending change \(change.id) cannot be read from the gateway database: restore it from a backup, or let it expire.")
        }
    }
}

/// A second operator's approval as it is applied: the change's own entry (`partner-updated`,
/// `operator-granted`…) is attributed to the approver and names the change and its proposer,
/// and `change-approved` is recorded in the same transaction, which moves the change from
/// `pending` to `approved` (once: a second approval finds it approved).
struct Approval {
    let change: PendingChange
    let approver: Principal
    let time: Date

    /// `change k3m9x2p7qa proposed by operator:alice`: the proposer by name (its certificate is in
    /// the `change-proposed` and `change-approved` entries), so that the subject, cut at 200
    /// characters, keeps it after what the entry says anyway.
    var note: String { "change \(change.id) proposed by \(change.proposer.map { "operator:\($0)" } ?? change.proposedBy)" }

    /// A subject for the change's own entry: what it says anyway, then the change and its proposer.
    func attributed(_ subject: String?) -> String { subject.map { "\($0); \(note)" } ?? note }

    var settlement: ChangeSettlement {
        ChangeSettlement(id: change.id, state: .approved, event: TransferEvent(
            time: time, actor: approver.actor, action: .changeApproved, outcome: .success, partnerID: change.partner,
            reason: EventReason(.pendingChange, "\(change.label) proposed by \(change.proposedBy)"), transport: approver.transport))
    }
}

/// A pending change checked against the gateway as it stands now, ready to apply: what it does
/// (for a person to read) and how.
struct PreparedChange {
    let details: [String]
    let apply: (Approval) throws -> AppliedChange
}

/// A pending change and what it would do if approved now: for `claimgate pending show` and
/// `approve`, which shows it before asking.
public struct ChangePreview: Sendable {
    public let change: PendingChange
    /// What it does, one line each: for an agreement, the fields that change (`AgreementDiff`),
    /// certificates by fingerprint; for an operator, its roles before and after.
    public let details: [String]
    /// Why it cannot be approved now (expired, settled, or its checks fail), or nil.
    public let blocked: String?
}

/// Four eyes on agreements and on the `security-officer` role (docs/operators.md#four-eyes).
/// Once two or more active operators hold the role that guards a change (`FourEyes`), a change
/// an operator asks for is validated and kept as a pending change; a different operator with
/// the role approves it, and it is applied then through the same code as a direct change, after
/// the same checks run again. Local (shell) use is break-glass: its changes apply at once, and
/// it may approve or withdraw any pending change, attributed to the real account.
extension Gateway {
    /// Whether `principal` must leave `action` to a second operator: an operator, while two or
    /// more active operators hold the role that guards it.
    /// - Parameter roles: for `operator-add` and `operator-grant`, the roles given.
    func needsSecondOperator(_ action: OperatorAction, giving roles: Set<Role> = [], by principal: Principal) throws -> Bool {
        // Every operator, through the operator API or the console; the shell and the gateway's own jobs are not judged.
        guard principal.operatorID != nil, let role = FourEyes.guardingRole(of: action, giving: roles) else { return false }
        return FourEyes.needsSecondOperator(role, among: try store.operators())
    }

    /// For operations that apply a change given as a value (no files to keep): refused to an
    /// operator whose change needs a second operator.
    func requireNoSecondOperator(_ action: OperatorAction, by principal: Principal) throws {
        if try needsSecondOperator(action, by: principal) {
            throw ClaimGateError(.invalidArgument, "This change needs a second operator's approval, and a change given as a value cannot wait for one: give the agreement file (`claimgate partner \(action.command.split(separator: " ").last ?? "")`).")
        }
    }

    /// Keeps a validated change as pending, recorded as `change-proposed` by its proposer.
    func propose(_ action: OperatorAction, partner: PartnerID?, target: String, summary: String, payload: ChangePayload,
                 by principal: Principal) throws -> PendingChange {
        guard let proposer = principal.operatorID else {
            throw ClaimGateError(.invalidArgument, "Only an operator's change waits for a second operator.")
        }
        let now = clock.now
        let change = PendingChange(id: .random(), action: action, partner: partner, target: target, summary: EventReason.bounded(summary),
                                   proposedBy: principal.actor.description, proposer: proposer, created: now, payload: try payload.encoded())
        try store.insertPendingChange(change, event: TransferEvent(
            time: now, actor: principal.actor, action: .changeProposed, outcome: .success, partnerID: partner,
            reason: EventReason(.pendingChange, "\(change.label) \(change.summary)"), transport: principal.transport))
        logger.info("change proposed", metadata: ["change.id": "\(change.id)", "change.action": "\(action)", "change.target": "\(target)"])
        return change
    }

    /// Every pending change (approved, withdrawn and expired ones too), oldest first. Their
    /// state at the gateway's clock is `PendingChange.state(at:)`. An operator scoped to some
    /// partners sees only the changes to its partners (not onboardings, nor operator changes).
    public func pendingChanges(by principal: Principal) throws -> [PendingChange] {
        guard let scope = try listingScope(.pendingList, partner: nil, by: principal) else { return try store.pendingChanges() }
        return try store.pendingChanges().filter { $0.partner.map(scope.contains) ?? false }
    }

    /// One pending change, and what it would do if approved now. Judged on the change's partner:
    /// an operator scoped to some partners sees only changes to them.
    public func previewChange(_ raw: String, by principal: Principal) throws -> ChangePreview {
        let change: PendingChange
        do { change = try storedChange(raw) } catch {
            try authorize(.pendingList, by: principal)
            throw error
        }
        try authorize(.pendingList, partner: change.partner, by: principal)
        var details: [String] = []
        var blocked: String?
        do {
            try requireOpen(change, settling: false)
            details = try prepare(change).details
        } catch let e as ClaimGateError {
            blocked = e.message
        }
        return ChangePreview(change: change, details: details, blocked: blocked)
    }

    /// Approves a pending change and applies it, exactly as proposed, after running its checks
    /// again against the gateway as it stands. The approver needs the right to make the change
    /// itself (the proposer's action, on its partner) and must not be its proposer; the change
    /// must still be pending and not past its 7 days. A failed approval is recorded as
    /// `change-refused` with its code (`self-approval`, `change-expired`, `unknown-partner`…),
    /// and the change stays as it was (an expired one becomes `expired`).
    /// - Parameter keysLeaving: false where a private key the gateway generates cannot be handed
    ///   over (the operator API): a change that would generate one (an `operator add` issued
    ///   with a gateway-made key) is then refused (`invalid-argument`, recorded) before anything
    ///   is done, naming `claimgate approve ID --out DIR` at the gateway host.
    /// - Returns: the change as settled, and what it did.
    public func approveChange(_ raw: String, keysLeaving: Bool = true, by principal: Principal) throws -> (change: PendingChange, applied: AppliedChange) {
        let change = try storedChange(raw)
        try authorize(change.action, partner: change.partner, by: principal)
        return try recordingChangeRefusal(change, by: principal) {
            if !keysLeaving, try ChangePayload.decode(change).generatesPrivateKey {
                throw ClaimGateError(.invalidArgument, "Approving change \(change.id) (\(change.action) \(change.target)) generates the operator's private key at the gateway, which never leaves it through the operator API: approve it at the gateway host with `claimgate approve \(change.id) --out DIR` and hand the key over privately.")
            }
            try requireOpen(change, settling: true)
            if case .fails(let refusal) = SecondPerson().evaluate(ApprovalRequest(change: change, approver: principal)) {
                throw ClaimGateError(.notPermitted, refusal.message, refusal: refusal.reason)
            }
            let approval = Approval(change: change, approver: principal, time: clock.now)
            let applied = try prepare(change).apply(approval)
            logger.info("change approved", metadata: ["change.id": "\(change.id)", "change.action": "\(change.action)"])
            var settled = change
            settled.state = .approved; settled.settledBy = principal.actor.description; settled.settledAt = approval.time
            return (settled, applied)
        }
    }

    /// Withdraws a pending change: by its proposer, or at the shell. Recorded as `change-withdrawn`.
    @discardableResult
    public func withdrawChange(_ raw: String, by principal: Principal) throws -> PendingChange {
        let change = try storedChange(raw)
        try authorize(change.action, partner: change.partner, by: principal)
        return try recordingChangeRefusal(change, by: principal) {
            try requireOpen(change, settling: true)
            if let id = principal.operatorID, id != change.proposer {
                throw ClaimGateError(.notPermitted, "Only \(change.proposer.map { "operator \($0)" } ?? "its proposer"), who proposed change \(change.id), can withdraw it; it expires on \(Timestamp.format(change.expires)) if nobody approves it.", refusal: .notProposer)
            }
            let now = clock.now
            try store.settlePendingChange(ChangeSettlement(id: change.id, state: .withdrawn, event: TransferEvent(
                time: now, actor: principal.actor, action: .changeWithdrawn, outcome: .success, partnerID: change.partner,
                reason: EventReason(.pendingChange, "\(change.label) proposed by \(change.proposedBy)"), transport: principal.transport)))
            var settled = change
            settled.state = .withdrawn; settled.settledBy = principal.actor.description; settled.settledAt = now
            return settled
        }
    }

    /// Marks every pending change past its 7 days `expired`, each recorded as `change-expired`
    /// (by `system`). `purge` runs it; an approval or withdrawal of an expired change does it
    /// for that change.
    /// - Returns: the changes that expired now.
    @discardableResult
    public func expirePendingChanges() throws -> [PendingChange] {
        let now = clock.now
        return try store.pendingChanges(onlyPending: true).filter { $0.state(at: now) == .expired }.filter { try expire($0) }
    }

    /// Settles one change as expired; false when something else settled it first.
    private func expire(_ change: PendingChange) throws -> Bool {
        do {
            try store.settlePendingChange(ChangeSettlement(id: change.id, state: .expired, event: TransferEvent(
                time: clock.now, actor: .system, action: .changeExpired, outcome: .success, partnerID: change.partner,
                reason: EventReason(.pendingChange, "\(change.label) proposed by \(change.proposedBy)"), transport: .cli)))
            logger.info("change expired", metadata: ["change.id": "\(change.id)"])
            return true
        } catch let e as ClaimGateError where e.code == .changeNotPending {
            return false
        }
    }

    /// Whether approving `change` makes a private key at the gateway, for the approver to hand
    /// over (`approve --out`): an `operator add` proposed without the operator's public key.
    public func changeIssuesPrivateKey(_ change: PendingChange) -> Bool {
        guard change.action == .operatorAdd, let payload = try? ChangePayload.decode(change) else { return false }
        return payload.generatesPrivateKey
    }

    private func storedChange(_ raw: String) throws -> PendingChange {
        guard let id = try? PendingChangeID(raw), let change = try store.pendingChange(id) else {
            throw ClaimGateError(.unknownChange, "There is no pending change '\(EventReason.bounded(String(raw.prefix(40))))': see `claimgate pending`.")
        }
        return change
    }

    /// Throws unless the change is pending and within its 7 days; with `settling`, a change found
    /// past them is marked expired first.
    private func requireOpen(_ change: PendingChange, settling: Bool) throws {
        switch change.state(at: clock.now) {
        case .pending: return
        case .expired:
            if settling, change.state == .pending, !store.isReadOnly { _ = try expire(change) }
            throw ClaimGateError(.changeExpired, "Change \(change.id) expired on \(Timestamp.format(change.expires)) (a change waits 7 days for its approval): propose it again.")
        case .approved, .withdrawn:
            throw ClaimGateError(.changeNotPending, "Change \(change.id) was \(change.state.rawValue) by \(change.settledBy ?? "?") on \(change.settledAt.map(Timestamp.format) ?? "?"): there is nothing left to approve or withdraw.")
        }
    }

    /// Runs an approval or a withdrawal; a failure is recorded as `change-refused` with its code
    /// (a policy refusal's reason, else the error's code) and the change as subject, and rethrown.
    private func recordingChangeRefusal<T>(_ change: PendingChange, by principal: Principal, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ClaimGateError {
            let code = e.refusal.map { EventReason.Code($0) } ?? EventReason.Code(e.code)
            try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: .changeRefused, outcome: .refused,
                                           partnerID: change.partner, reason: EventReason(code, change.label), transport: principal.transport))
            logger.info("change refused", metadata: ["change.id": "\(change.id)", "reason": "\(code)"])
            throw e
        }
    }

    /// Checks a pending change against the gateway as it stands now, from what it kept: the
    /// same checks as when it was proposed (the agreement loader over the kept files, the
    /// shared-anchor rule, the partner's and operator's state), and that the agreement it was
    /// proposed against is still the one in force.
    private func prepare(_ change: PendingChange) throws -> PreparedChange {
        switch (change.action, try ChangePayload.decode(change)) {
        case (.partnerAdd, .agreement(let path, let files, .none)):
            let (agreement, source) = try AgreementLoader.load(path: path, files: InputFiles(kept: files), clock: clock)
            try requireTarget(agreement.id.rawValue, of: change)
            try checkOnboarding(agreement)
            return PreparedChange(details: AgreementDiff(from: nil, to: agreement).lines.map(\.text)) { a in
                .partner(try self.onboard(agreement, source: source, by: a.approver, approval: a))
            }
        case (.partnerUpdate, .agreement(let path, let files, let version?)):
            let (agreement, source) = try AgreementLoader.load(path: path, files: InputFiles(kept: files), clock: clock)
            try requireTarget(agreement.id.rawValue, of: change)
            let current = try partnerInForce(change, version: version)
            try checkNewVersion(agreement, of: current)
            let reason = Self.changes(from: current.agreement, to: agreement)
            return PreparedChange(details: Self.details(from: current, to: agreement)) { a in
                .partner(try self.storeAgreementVersion(agreement, source: source, reason: reason, by: a.approver, approval: a, replacing: version))
            }
        case (.partnerRotate, .rotation(let file, let files, let from, let version)):
            let current = try partnerInForce(change, version: version)
            let r = try rotation(of: current, encryptionFile: file, files: InputFiles(kept: files), from: from)
            return PreparedChange(details: Self.details(from: current, to: r.agreement)) { a in
                .partner(try self.storeAgreementVersion(r.agreement, source: r.source, reason: r.note, by: a.approver, approval: a, replacing: version))
            }
        case (.partnerRemove, .removal(let force, let reason)):
            let p = try partner(change.target)
            let waiting = try checkRemoval(p, force: force)
            var details = ["status: \(p.status.rawValue) -> removed"]
            if waiting > 0 { details.append("bundles waiting: \(waiting) (--force: their pushes are cancelled)") }
            if let reason { details.append("reason: \(Self.auditText(reason))") }
            return PreparedChange(details: details) { a in
                try self.applyRemoval(p.id, force: force, reason: reason, by: a.approver, approval: a)
                return .partnerRemoved(p.id)
            }
        case (.operatorGrant, .grant(let role)):
            let op = try storedOperator(change.target)
            var after = op
            try Self.give(.role(role), to: &after)
            return PreparedChange(details: ["operator \(op.id): \(op.summary) -> \(after.summary)"]) { a in
                .operatorChanged(try self.applyGrant(op.id, .role(role), by: a.approver, approval: a))
            }
        case (.operatorAdd, .operatorAdd(let roles, let grants, let partners, let days, let publicKeyPEM)):
            let request = try checkNewOperator(change.target, roles: Set(roles), grants: Set(grants), partners: partners, days: days)
            if let publicKeyPEM {
                let publicKey = try Self.publicKey(publicKeyPEM)
                return PreparedChange(details: ["operator \(request.id): \(request.summary)", "certificate: valid \(days) days from approval, for the public key the proposer sent (no private key is made here; `claimgate operator certificate \(request.id)` prints the chain)"]) { a in
                    .operatorAdded(try self.issueOperator(request, publicKey: publicKey, by: a.approver, approval: a))
                }
            }
            return PreparedChange(details: ["operator \(request.id): \(request.summary)", "certificate: valid \(days) days from approval, issued to whoever approves (--out)"]) { a in
                .operatorAdded(try self.issueOperator(request, by: a.approver, approval: a))
            }
        default:
            throw ClaimGateError(.io, "Pending change \(change.id) does not hold what a \(change.action) needs: restore the gateway database from a backup, or let it expire.")
        }
    }

    /// The partner a change names, in force and still at the agreement version the change was
    /// proposed against.
    private func partnerInForce(_ change: PendingChange, version: Int) throws -> Partner {
        let current = try partner(change.target)
        guard current.status != .removed else {
            throw ClaimGateError(.invalidArgument, "Partner \(current.id) was removed after change \(change.id) was proposed: there is nothing to change; withdraw it or let it expire.")
        }
        guard current.version == version else {
            throw ClaimGateError(.changeOutdated, "Partner \(current.id)'s agreement is at version \(current.version) now, not version \(version) change \(change.id) was proposed against: withdraw it and propose it again against the agreement in force.")
        }
        return current
    }

    private func requireTarget(_ id: String, of change: PendingChange) throws {
        guard id == change.target else {
            throw ClaimGateError(.io, "Pending change \(change.id) names partner \(change.target) but holds an agreement for \(id): restore the gateway database from a backup.")
        }
    }

    /// The agreement fields a new version changes, and the version it replaces.
    static func details(from current: Partner, to agreement: PartnerAgreement) -> [String] {
        let lines = AgreementDiff(from: current.agreement, to: agreement).lines.map(\.text)
        return ["version: \(current.version) -> \(current.version + 1)"] + (lines.isEmpty ? ["no field changes"] : lines)
    }
}
