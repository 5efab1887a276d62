import Audit
import ClaimGateCore
import Envelope
import Foundation
import Store

extension Gateway {
    /// Signs a checkpoint of the audit trail's head with the audit key, unless nothing was
    /// appended since the last one. Homes created before the audit key existed get one first
    /// (recorded as a key change).
    /// - Returns: the new checkpoint, if one was written.
    @discardableResult
    public func sealAuditTrail() throws -> AuditCheckpoint? {
        // Entries queued to ride in a later transaction (ends of downloads) are sealed too.
        try store.flush()
        let key: MessageSigningKey
        if identity.hasAuditKey {
            key = try identity.auditKey()
        } else {
            do { key = try GatewayIdentity.createAuditKey(in: home.identity) } catch let e as EnvelopeError {
                throw ClaimGateError(.io, "Cannot create the audit key: \(e.message)")
            }
            try store.record(TransferEvent(time: clock.now, actor: .system, action: .keyCreated, outcome: .success,
                                           reason: EventReason(.auditKey), transport: .cli))
        }
        let clock = self.clock
        return try store.checkpointAudit { sequence, head in
            try AuditCheckpoint.sign(sequence: sequence, headHash: head, time: AuditTime.format(clock.now), with: key)
        }
    }

    /// The audit public key (SPKI PEM) verifiers should be given.
    public func auditPublicKeyPEM() throws -> String {
        if !identity.hasAuditKey { try sealAuditTrail() }
        return try identity.auditKey().publicKey.pem
    }

    /// Verifies the whole trail from the database: every link and hash, every checkpoint against
    /// `keys` (the gateway's own audit key when none are given).
    public func verifyAuditTrail(keys: [MessageVerifyingKey]? = nil) throws -> AuditVerification {
        let trusted = try keys ?? (identity.hasAuditKey ? [identity.auditKey().publicKey] : [])
        var verifier = AuditVerifier(keys: trusted)
        for c in try store.auditCheckpoints() { verifier.add(c) }
        struct Stop: Error {}
        var columns: AuditError?
        do {
            try store.forEachAuditEntry(inconsistentReason: { seq in
                // The reason's code and subject columns are what reports read; they must be the
                // hashed reason text's own. The chain is still read to its end (and checked
                // against its checkpoints) before this finding is reported.
                if columns == nil {
                    columns = .entryEdited(sequence: seq, "Entry \(seq)'s reason_code or subject column does not match its recorded reason: the columns were edited.")
                }
            }) { e in
                verifier.add(e)
                if verifier.problem != nil { throw Stop() }
            }
        } catch is Stop {}
        let verdict = verifier.finish()
        guard let columns, verdict.problem == nil else { return verdict }
        return AuditVerification(problem: columns, entryCount: verdict.entryCount, lastSequence: verdict.lastSequence,
                                 lastSealedSequence: verdict.lastSealedSequence, checkpointCount: verdict.checkpointCount,
                                 signaturesChecked: verdict.signaturesChecked)
    }

    /// Writes entries (optionally only those timed in `[since, until)`) and the checkpoints
    /// among them to `path` as JSON lines (docs/audit-format.md), atomically.
    /// - Returns: the number of entries written.
    @discardableResult
    public func exportAuditTrail(to path: String, since: Date? = nil, until: Date? = nil, by principal: Principal) throws -> Int {
        // Reading the trail out is itself an admin action on the trail, recorded and sealed first.
        try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: .auditExported, outcome: .success,
                                       reason: EventReason(.export), transport: .cli))
        try sealAuditTrail()
        let pub = try identity.auditKey().publicKey
        let checkpoints = Dictionary(try store.auditCheckpoints().map { ($0.sequence, $0) }, uniquingKeysWith: { a, _ in a })
        let temp = path + ".partial-\(getpid())"
        var count = 0
        do {
            let writer = try AuditExportWriter(path: temp, header: AuditExportHeader(exported: AuditTime.format(clock.now),
                                                                                     keyID: pub.keyID, publicKeyPEM: pub.pem))
            try store.forEachAuditEntry(since: since.map(AuditTime.format), until: until.map(AuditTime.format)) { e in
                try writer.write(e)
                if let c = checkpoints[e.sequence] { try writer.write(c) }
                count += 1
            }
            try writer.close()
            guard rename(temp, path) == 0 else { throw ClaimGateError(.io, "Cannot write \(path): \(String(cString: strerror(errno))).") }
        } catch {
            unlink(temp)
            if let e = error as? AuditError { throw ClaimGateError(.io, "Cannot write the export: \(e.message)") }
            throw error
        }
        return count
    }
}
