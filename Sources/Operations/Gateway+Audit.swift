import Audit
import ClaimGateCore
import Envelope
import Foundation
import Store

extension Gateway {
    /// Signs a checkpoint of the audit trail's head with the audit key, unless nothing was
    /// appended since the last one. Homes created before the audit key existed get one first
    /// (recorded as a key change). A read-only gateway seals nothing.
    /// - Returns: the new checkpoint, if one was written.
    @discardableResult
    public func sealAuditTrail() throws -> AuditCheckpoint? {
        guard !store.isReadOnly, !tamperingFound.withLock({ $0 }) else { return nil }
        // Entries queued to ride in a later transaction (ends of downloads) are sealed too.
        try store.flush()
        let key = try auditSigningKey()
        let clock = self.clock
        return try witnessed { witness in
            try store.checkpointAudit(after: witness) { sequence, head in
                try AuditCheckpoint.sign(sequence: sequence, headHash: head, time: AuditTime.format(clock.now), with: key)
            }
        }
    }

    /// Signs a checkpoint through `sign` only over the trail whose last signed checkpoint is
    /// still in the store (`AuditWitness`), then records the new one as the witness.
    func witnessed(_ sign: ((sequence: Int64, headHash: [UInt8])?) throws -> AuditCheckpoint?) throws -> AuditCheckpoint? {
        let witness = try AuditWitness.read(in: home.identity)
        let signed: AuditCheckpoint?
        do { signed = try sign(witness.map { ($0.sequence, $0.headHash) }) } catch let e as GatewayStore.WitnessMismatch {
            tamperingFound.withLock { $0 = true }
            logger.critical("audit trail tampered: the last checkpoint this gateway signed is missing; no checkpoint signed",
                            metadata: ["audit.sequence": "\(e.sequence)"])
            throw ClaimGateError(.io, "The checkpoint this gateway signed last (entry \(e.sequence)) is no longer in its database as signed: the audit trail was tampered with, so no checkpoint was signed. Run `claimgate audit verify` and follow docs/audit.md.")
        }
        if let signed { try AuditWitness(sequence: signed.sequence, headHash: signed.headHash).record(in: home.identity) }
        return signed
    }

    /// The audit key; created (and recorded as `key-created`) for a home made before it existed.
    private func auditSigningKey() throws -> MessageSigningKey {
        if identity.hasAuditKey { return try identity.auditKey() }
        let key: MessageSigningKey
        do { key = try GatewayIdentity.createAuditKey(in: home.identity) } catch let e as EnvelopeError {
            throw ClaimGateError(.io, "Cannot create the audit key: \(e.message)")
        }
        try store.record(TransferEvent(time: clock.now, actor: .system, action: .keyCreated, outcome: .success,
                                       reason: EventReason(.auditKey), transport: .cli))
        return key
    }

    /// The audit public key (SPKI PEM) verifiers should be given.
    public func auditPublicKeyPEM() throws -> String {
        if !identity.hasAuditKey { try sealAuditTrail() }
        return try identity.auditKey().publicKey.pem
    }

    /// Verifies the whole trail from the database: every link and hash, every checkpoint against
    /// `keys` (the gateway's own audit key when none are given), then what the chain alone cannot
    /// show: that the trail starts with this home's genesis entry (or, for a trail older than
    /// the genesis entry, still holds what it held when it was upgraded), that each entry's
    /// reason columns are its reason's, and that every bundle in the store has its entry.
    /// - Parameters:
    ///   - keys: the checkpoint keys to trust; nil for the gateway's own.
    ///   - principal: who asks (`audit-verify`).
    public func verifyAuditTrail(keys: [MessageVerifyingKey]? = nil, by principal: Principal) throws -> AuditVerification {
        try authorize(.auditVerify, by: principal)
        return try verifyAuditTrail(keys: keys)
    }

    /// The access review of `month` (`audit report`), for `principal` (`audit-report`).
    public func auditReport(month: ReportMonth, partner raw: String? = nil, by principal: Principal) throws -> AccessReview {
        // One partner's review is judged on that partner; the whole gateway's (every partner and
        // every operator) is refused to an operator scoped to some partners.
        if let raw { try authorize(.auditReport, partnerNamed: raw, by: principal) } else { try authorize(.auditReport, by: principal) }
        return try accessReview(month: month, partner: raw.map { try partner($0).id })
    }

    /// The impact of a breach (`audit impact`), streamed through `write`, for `principal` (`audit-impact`).
    @discardableResult
    public func auditImpact(_ query: ImpactQuery, format: ImpactFormat, by principal: Principal,
                            to write: (String) throws -> Void) throws -> ImpactSummary {
        // A partner's impact is judged on that partner; a claim's alone, or every bundle's, may
        // reach every partner and is refused to an operator scoped to some partners.
        if let raw = query.partner { try authorize(.auditImpact, partnerNamed: raw, by: principal) } else { try authorize(.auditImpact, by: principal) }
        return try writeImpact(query, format: format, to: write)
    }

    func verifyAuditTrail(keys: [MessageVerifyingKey]? = nil) throws -> AuditVerification {
        let trusted = try keys ?? (identity.hasAuditKey ? [identity.auditKey().publicKey] : [])
        var verifier = AuditVerifier(keys: trusted)
        for c in try store.auditCheckpoints() { verifier.add(c) }
        struct Stop: Error {}
        var columns: AuditError?
        var first: AuditEntry?
        do {
            try store.forEachAuditEntry(inconsistentReason: { seq in
                // The reason's code and subject columns are what reports read; they must be the
                // hashed reason text's own. The chain is still read to its end (and checked
                // against its checkpoints) before this finding is reported.
                if columns == nil {
                    columns = .entryEdited(sequence: seq, "Entry \(seq)'s reason_code or subject column does not match its recorded reason: the columns were edited.")
                }
            }) { e in
                if first == nil { first = e }
                verifier.add(e)
                if verifier.problem != nil { throw Stop() }
            }
        } catch is Stop {}
        let verdict = verifier.finish()
        try requireUnchanged()
        guard verdict.problem == nil else { return verdict }
        let (origin, notes) = try originFinding(first: first, verdict: verdict)
        if let origin { return verdict.with(problem: origin, notes: notes) }
        if let w = try AuditWitness.read(in: home.identity), !(try store.holdsWitness(sequence: w.sequence, headHash: w.headHash)) {
            return verdict.with(problem: .finding(.checkpointMismatch, sequence: w.sequence,
                "The checkpoint this gateway signed last, of entry \(w.sequence) (identity/audit-witness), is not in the store as signed: checkpoints were removed or the trail re-chained."),
                notes: notes)
        }
        if let columns { return verdict.with(problem: columns, notes: notes) }
        if let id = try store.firstBundleWithoutSealEntry() {
            return verdict.with(problem: .finding(.unrecordedBundle, sequence: nil,
                "Bundle \(id) is in the gateway's store but the audit trail has no seal or queue entry for it: the row was added behind the gateway's back, or its entries were removed."),
                notes: notes)
        }
        try requireUnchanged()
        return verdict.with(problem: nil, notes: notes)
    }

    /// Whether the trail begins as the store says it must: with this home's genesis entry,
    /// sealed; or, for a trail older than the genesis entry, with at least the entries it held
    /// when it was upgraded. Returns the finding, or the notes that limit the verdict.
    private func originFinding(first: AuditEntry?, verdict: AuditVerification) throws -> (AuditError?, [String]) {
        let origin = try store.auditOrigin()
        if case .legacy(let n) = origin {
            if verdict.lastSequence < n {
                return (.finding(.truncated, sequence: verdict.lastSequence + 1,
                    "The trail held \(n) entries when this ClaimGate upgraded it but ends at entry \(verdict.lastSequence): entries were removed."), [])
            }
            // The command that upgraded the store sealed what it found: a legacy origin whose
            // entries no checkpoint covers was written into the store, not found there.
            if verdict.lastSealedSequence < n {
                return (.finding(.genesisMissing, sequence: 1,
                    "The store says its trail began before the genesis entry with \(n) entries, but no checkpoint seals them: the store was re-created or its origin edited."), [])
            }
            return (nil, ["This trail began before ClaimGate wrote a genesis entry (migration v10-audit-origin found \(n) entries): it has none, so only its length since then, its chain and its checkpoints show it was not re-created."])
        }
        let unknown = origin == .unknown ? " (and the store keeps no record of how its trail began)" : ""
        guard let first, first.sequence == 1, first.action == GatewayStore.genesisAction else {
            let message = verdict.entryCount == 0
                ? "The audit trail is empty, but every trail starts with the genesis entry written by `claimgate init`\(unknown): the store was emptied or re-created."
                : "Entry 1 is not the genesis entry written by `claimgate init`\(unknown): the store was re-created or its first entries were replaced."
            return (.finding(.genesisMissing, sequence: 1, message), [])
        }
        let genesisReason = identity.hasAuditKey ? EventReason(.auditKey, try identity.auditKey().publicKey.keyID).text : nil
        if let genesisReason, first.reason != genesisReason {
            return (.finding(.genesisMissing, sequence: 1,
                "Entry 1 is the genesis entry of another audit key than this home's identity/audit.key: the store was re-created or replaced."), [])
        }
        if verdict.lastSealedSequence < 1 {
            return (.finding(.genesisMissing, sequence: 1,
                "No checkpoint seals the genesis entry, which `claimgate init` seals at once: the store's checkpoints were removed."), [])
        }
        if origin == .unknown {
            return (.finding(.genesisMissing, sequence: 1,
                "The store keeps no record of how its trail began (setting audit_origin): it was re-created or edited."), [])
        }
        return (nil, [])
    }

    /// A read-only store opened immutable must not have been written while it was read.
    private func requireUnchanged() throws {
        guard store.isUnchangedSinceOpened else {
            throw ClaimGateError(.io, "The gateway database changed while it was read (a gateway process started using it): run the command again.")
        }
    }

    /// Writes the entries timed in `[since, until)` and the checkpoints among them to `path` as
    /// JSON lines (docs/audit-format.md), atomically, once the whole trail has verified. The
    /// export always ends with the checkpoint of its last entry.
    ///
    /// A writable gateway records the export (`audit-exported`) and seals the trail first, and
    /// seals the last entry of a window that ends earlier. A read-only one records and seals
    /// nothing: its export ends at the last checkpoint in the window, and the entries after it are
    /// left out (`leftOut`).
    /// - Throws: `AuditTrailTampered` when the trail does not verify: nothing is recorded, sealed
    ///   or written then.
    @discardableResult
    public func exportAuditTrail(to path: String, since: Date? = nil, until: Date? = nil, by principal: Principal) throws -> AuditExportSummary {
        try authorize(.auditExport, by: principal)
        if !store.isReadOnly { try store.flush() }
        let verdict = try verifyAuditTrail()
        guard verdict.isIntact else {
            tamperingFound.withLock { $0 = true }
            throw AuditTrailTampered(verification: verdict)
        }
        let sinceText = since.map(AuditTime.format), untilText = until.map(AuditTime.format)
        if !store.isReadOnly {
            // Reading the trail out is itself an admin action on the trail, recorded and sealed first.
            try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: .auditExported, outcome: .success,
                                           reason: EventReason(.export), transport: principal.transport))
            try sealAuditTrail()
        }
        guard let range = try store.auditSequenceRange(since: sinceText, until: untilText) else {
            throw ClaimGateError(.invalidArgument, "No audit entry was recorded in the time window given: there is nothing to export.")
        }
        var cutoff = range.last
        if store.isReadOnly {
            cutoff = try store.auditCheckpoints().map(\.sequence).filter { $0 <= range.last }.max() ?? 0
            guard cutoff >= range.first else {
                throw ClaimGateError(.io, "No entry in the window is sealed by a checkpoint yet, and this home is read-only, so the export cannot seal them: export on the gateway's own writable home.")
            }
        } else {
            let key = try auditSigningKey()
            let clock = self.clock
            try witnessed { witness in
                try store.checkpointAuditEntry(cutoff, after: witness) { sequence, head in
                    try AuditCheckpoint.sign(sequence: sequence, headHash: head, time: AuditTime.format(clock.now), with: key)
                }
            }
        }
        let pub = try identity.auditKey().publicKey
        // Only the checkpoint of the export's last entry: the hash chain carries it back to the
        // first, and a file cut anywhere then ends unsealed. (With every checkpoint in it, a cut
        // just after an earlier one would read as a shorter, sealed export.)
        guard let last = try store.auditCheckpoints().first(where: { $0.sequence == cutoff }) else {
            throw ClaimGateError(.io, "Entry \(cutoff) has no checkpoint: run the export again.")
        }
        let temp = path + ".partial-\(getpid())"
        var count = 0
        do {
            let writer = try AuditExportWriter(path: temp, header: AuditExportHeader(exported: AuditTime.format(clock.now),
                                                                                     keyID: pub.keyID, publicKeyPEM: pub.pem))
            try store.forEachAuditEntry(since: sinceText, until: untilText, through: cutoff) { e in
                try writer.write(e)
                if e.sequence == cutoff { try writer.write(last) }
                count += 1
            }
            try writer.close()
            try requireUnchanged()
            guard rename(temp, path) == 0 else { throw ClaimGateError(.io, "Cannot write \(path): \(String(cString: strerror(errno))).") }
        } catch {
            unlink(temp)
            if let e = error as? AuditError { throw ClaimGateError(.io, "Cannot write the export: \(e.message)") }
            throw error
        }
        return AuditExportSummary(entries: count, lastSequence: cutoff, leftOut: range.last - cutoff, recorded: !store.isReadOnly)
    }
}

/// What `exportAuditTrail` wrote.
public struct AuditExportSummary: Sendable, Equatable {
    /// Entries written.
    public let entries: Int
    /// The last entry written; the export ends with its checkpoint.
    public let lastSequence: Int64
    /// Entries of the window after the last checkpoint, left out by a read-only gateway, which
    /// cannot seal them.
    public let leftOut: Int64
    /// Whether the export was recorded in the trail (`audit-exported`): not by a read-only gateway.
    public let recorded: Bool
}

/// The trail did not verify, so it was not exported: `verification` holds the first finding.
public struct AuditTrailTampered: Error, Sendable {
    public let verification: AuditVerification
    /// The verdict as `audit verify` prints it: `TAMPERED: …`.
    public var message: String { verification.description }
}
