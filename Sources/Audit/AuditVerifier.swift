import Envelope

/// Checks an audit log in one streaming pass: entries one by one, in stored order, with the
/// checkpoints that seal them. Memory stays constant however long the log is.
///
/// Feed checkpoints before their entry or right after it (an export has each checkpoint right
/// after the entry it seals; checkpoints kept elsewhere can all be added first), then call
/// `finish()`. Stop feeding once `problem` is set: only the first problem is reported.
///
///     var verifier = AuditVerifier(keys: [publicKey])
///     for cp in offsiteCheckpoints { verifier.add(cp) }
///     for entry in store.entries() { verifier.add(entry); if verifier.problem != nil { break } }
///     let result = verifier.finish()
///
/// What each finding means, and where its `sequence` points:
/// - `entryEdited` at N: entry N's stored hash is not the hash of its content.
/// - `linkBroken` at N: entry N's previous hash is not entry N-1's hash (insertion, replacement).
/// - `sequenceGap` at N: entry N is missing (the next one found is later; none comes back).
/// - `outOfOrder` at N: entry N appears twice, or after a later entry (swap, move, duplicate).
/// - `checkpointMismatch` at N: the checkpoint for entry N signs another head hash: the log was
///   rewritten at or before N, after the last good checkpoint.
/// - `unknownKey` / `badCheckpointSignature` at N: the checkpoint for N is not signed by a trusted key.
/// - `truncated` at M+1: the log ends at M but a checkpoint seals up to N > M.
/// - `checkpointMisplaced` at N: the checkpoint for N comes after later entries.
public struct AuditVerifier {
    private let keys: [String: MessageVerifyingKey]
    private let hasher = AuditEntryHasher()
    private let startSequence: Int64
    private var lastSequence: Int64
    private var lastHash: [UInt8]
    private var entryCount: Int64 = 0
    /// Checkpoints whose entry has not arrived yet, sorted by sequence.
    private var pending: [AuditCheckpoint] = []
    private var lastSealed: Int64
    private var checkpointCount = 0
    /// A jump in sequence numbers, held until the end or until the missing entry shows up later
    /// (then it was moved, not deleted).
    private var heldGap: (expected: Int64, found: Int64)?

    /// The first problem found so far; nil while the log is intact.
    public private(set) var problem: AuditError?

    /// A verifier for a whole log, from entry 1.
    /// - Parameter keys: trusted audit public keys. Empty: checkpoint signatures are not checked
    ///   (head hashes still are), and the result says so.
    public init(keys: [MessageVerifyingKey]) {
        self.init(keys: keys, resumingAfter: 0, headHash: AuditEntry.genesisHash)
    }

    /// A verifier for the part of a log after an entry already known to be good, such as the entry
    /// of the last verified checkpoint.
    /// - Parameters:
    ///   - keys: trusted audit public keys (see `init(keys:)`).
    ///   - sequence: the sequence number of the known-good entry (0: the start of the log).
    ///   - headHash: that entry's hash.
    public init(keys: [MessageVerifyingKey], resumingAfter sequence: Int64, headHash: [UInt8]) {
        var byID: [String: MessageVerifyingKey] = [:]
        for k in keys { byID[k.keyID] = k }
        self.keys = byID
        startSequence = sequence
        lastSequence = sequence
        lastHash = headHash
        lastSealed = sequence
    }

    /// Checks the next entry of the log.
    public mutating func add(_ entry: AuditEntry) {
        guard problem == nil else { return }
        let seq = entry.sequence
        if let gap = heldGap {
            // Only classifying the jump now: does a skipped number come later (moved) or not (deleted)?
            if seq >= gap.expected && seq < gap.found {
                fail(.outOfOrder, at: seq,
                     "Entry \(seq) comes after entry \(gap.found): entries were swapped or moved.")
            }
            entryCount += 1
            return
        }
        entryCount += 1
        let expected = lastSequence + 1
        if seq > expected {
            heldGap = (expected, seq)
            return
        }
        if seq < expected {
            if lastSequence == startSequence {
                fail(.outOfOrder, at: seq, "Entry \(seq) cannot come first: the log must continue with entry \(expected).")
            } else if seq == lastSequence {
                fail(.outOfOrder, at: seq, "Entry \(seq) appears twice: an entry was inserted or duplicated.")
            } else {
                fail(.outOfOrder, at: seq,
                     "Entry \(seq) comes after entry \(lastSequence): entries were swapped, moved or inserted.")
            }
            return
        }
        guard hasher.hashMatches(entry) else {
            fail(.entryEdited, at: seq, "Entry \(seq) was edited: its content does not match its stored hash.")
            return
        }
        guard entry.previousHash == lastHash else {
            if seq == 1 {
                fail(.linkBroken, at: seq, "Entry 1 does not start the log: its previous hash is not 32 zero bytes.")
            } else {
                fail(.linkBroken, at: seq,
                     "Entry \(seq) does not follow entry \(seq - 1): its previous hash is not entry \(seq - 1)'s hash, so an entry was inserted, replaced or moved.")
            }
            return
        }
        lastSequence = seq
        lastHash = entry.hash
        while let first = pending.first, first.sequence <= seq {
            pending.removeFirst()
            check(first)
            if problem != nil { return }
        }
    }

    /// Adds a checkpoint. It is checked when its entry arrives, or now if that entry was the last one.
    public mutating func add(_ checkpoint: AuditCheckpoint) {
        guard problem == nil, heldGap == nil else { return }
        if checkpoint.sequence == lastSequence {
            check(checkpoint)
        } else if checkpoint.sequence > lastSequence {
            let index = pending.firstIndex { $0.sequence > checkpoint.sequence } ?? pending.endIndex
            pending.insert(checkpoint, at: index)
        } else if checkpoint.sequence > startSequence {
            fail(.checkpointMisplaced, at: checkpoint.sequence,
                 "The checkpoint for entry \(checkpoint.sequence) comes after entry \(lastSequence): add each checkpoint before or right after the entry it seals.")
        }
        // A checkpoint at or before the known-good start of a resumed verification is not needed.
    }

    /// Adds one record of an export.
    public mutating func add(_ record: AuditRecord) {
        switch record {
        case .entry(let e): add(e)
        case .checkpoint(let c): add(c)
        }
    }

    /// Ends the log and returns the verdict.
    public func finish() -> AuditVerification {
        var problem = self.problem
        if problem == nil, let gap = heldGap {
            let missing = gap.found - 1 == gap.expected ? "entry \(gap.expected) was" : "entries \(gap.expected)…\(gap.found - 1) were"
            problem = AuditError(.sequenceGap,
                "Expected entry \(gap.expected) after entry \(gap.expected - 1) but found entry \(gap.found): \(missing) deleted.",
                sequence: gap.expected)
        }
        if problem == nil, let last = pending.last {
            let missing = last.sequence == lastSequence + 1 ? "entry \(last.sequence) was" : "entries \(lastSequence + 1)…\(last.sequence) were"
            problem = AuditError(.truncated,
                "The log ends at entry \(lastSequence) but a checkpoint seals entries up to \(last.sequence): \(missing) removed.",
                sequence: lastSequence + 1)
        }
        return AuditVerification(problem: problem, entryCount: entryCount, lastSequence: lastSequence,
                                 lastSealedSequence: lastSealed, checkpointCount: checkpointCount,
                                 signaturesChecked: !keys.isEmpty, resumedAfter: startSequence)
    }

    private mutating func check(_ cp: AuditCheckpoint) {
        let n = cp.sequence
        if !keys.isEmpty {
            guard let key = keys[cp.keyID] else {
                fail(.unknownKey, at: n,
                     "The checkpoint for entry \(n) is signed by key \(cp.keyID.prefix(16))…, which is not a trusted audit key: it was forged, or the wrong public key was given.")
                return
            }
            guard key.verify(signature: cp.signature, message: cp.signedMessage) else {
                fail(.badCheckpointSignature, at: n,
                     "The checkpoint for entry \(n) has an invalid signature: it was altered or forged.")
                return
            }
        }
        guard cp.headHash == lastHash else {
            let since = lastSealed > startSequence ? "after the last good checkpoint at entry \(lastSealed)" : "since the start of the log"
            fail(.checkpointMismatch, at: n,
                 "The checkpoint for entry \(n) does not match entry \(n): the log was rewritten at or before entry \(n), \(since).")
            return
        }
        lastSealed = max(lastSealed, n)
        checkpointCount += 1
    }

    private mutating func fail(_ code: AuditError.Code, at sequence: Int64, _ message: String) {
        if problem == nil { problem = AuditError(code, message, sequence: sequence) }
    }
}

extension AuditVerifier {
    /// Verifies a whole log in one pass.
    /// - Parameters:
    ///   - entries: the entries in stored order; read once, lazily (a lazy sequence over a database
    ///     cursor needs no big array). Reading stops at the first problem.
    ///   - checkpoints: the checkpoints, in any order.
    ///   - keys: trusted audit public keys; empty to skip signature checks.
    public static func verify(entries: some Sequence<AuditEntry>, checkpoints: [AuditCheckpoint] = [],
                              keys: [MessageVerifyingKey]) -> AuditVerification {
        var verifier = AuditVerifier(keys: keys)
        for cp in checkpoints.sorted(by: { $0.sequence < $1.sequence }) { verifier.add(cp) }
        for entry in entries {
            verifier.add(entry)
            if verifier.problem != nil { break }
        }
        return verifier.finish()
    }
}

/// The verdict on an audit log.
public struct AuditVerification: Sendable, Equatable, CustomStringConvertible {
    /// The first problem found, with its code and sequence number; nil when the log is intact.
    public let problem: AuditError?
    /// Entries read (reading stops at the first problem).
    public let entryCount: Int64
    /// The sequence number of the last entry verified.
    public let lastSequence: Int64
    /// The highest sequence sealed by a checkpoint that was verified (0 when none).
    public let lastSealedSequence: Int64
    /// Checkpoints verified.
    public let checkpointCount: Int
    /// Whether checkpoint signatures were checked against trusted keys.
    public let signaturesChecked: Bool
    /// The entry the check started after (0: the start of the log). An export made with
    /// `--since` starts later; entries before it were not checked.
    public let resumedAfter: Int64

    /// What else limits the verdict, one sentence each (such as a trail that predates the
    /// genesis entry); listed first among `warnings`.
    public let notes: [String]

    public init(problem: AuditError?, entryCount: Int64, lastSequence: Int64, lastSealedSequence: Int64,
                checkpointCount: Int, signaturesChecked: Bool, resumedAfter: Int64 = 0, notes: [String] = []) {
        self.problem = problem; self.entryCount = entryCount; self.lastSequence = lastSequence
        self.lastSealedSequence = lastSealedSequence; self.checkpointCount = checkpointCount
        self.signaturesChecked = signaturesChecked; self.resumedAfter = resumedAfter; self.notes = notes
    }

    /// The same verdict with `problem` as its finding (and `notes` added).
    public func with(problem: AuditError?, notes more: [String] = []) -> AuditVerification {
        AuditVerification(problem: problem, entryCount: entryCount, lastSequence: lastSequence,
                          lastSealedSequence: lastSealedSequence, checkpointCount: checkpointCount,
                          signaturesChecked: signaturesChecked, resumedAfter: resumedAfter, notes: notes + more)
    }

    /// For an export: the verdict, failed when the export holds no entry or does not end with a
    /// checkpoint of its last entry. The writer always ends an export so; an export cut short
    /// (its last lines removed) would otherwise pass, its remaining entries being intact.
    public func requiringSealedEnd() -> AuditVerification {
        guard problem == nil else { return self }
        if entryCount == 0 {
            return with(problem: AuditError(.emptyExport,
                "The export holds no entries: a header alone proves nothing, so the entries were removed or the export is not complete."))
        }
        guard lastSealedSequence < lastSequence else { return self }
        let which = lastSequence == lastSealedSequence + 1 ? "entry \(lastSequence) is" : "entries \(lastSealedSequence + 1)…\(lastSequence) are"
        let since = lastSealedSequence > resumedAfter ? "the last checkpoint is for entry \(lastSealedSequence)" : "it holds no checkpoint"
        return with(problem: AuditError(.unsealedEnd,
            "The export does not end with a checkpoint: \(which) not sealed by a checkpoint (\(since)), so its end was cut off; export the trail again.",
            sequence: lastSealedSequence + 1))
    }

    public var isIntact: Bool { problem == nil }

    /// Entries after the last verified checkpoint. Their chain is intact, but deleting them from the
    /// end of the log would not be noticed until the next checkpoint.
    public var unsealedCount: Int64 { max(0, lastSequence - lastSealedSequence) }

    /// Things that are not failures but limit what the verdict proves.
    public var warnings: [String] {
        var out: [String] = notes
        if resumedAfter > 0 {
            out.append("The check starts after entry \(resumedAfter) (a partial export): entries up to it, and what links to them, were not checked.")
        }
        if unsealedCount > 0 {
            let which = unsealedCount == 1 ? "Entry \(lastSequence) is" : "Entries \(lastSealedSequence + 1)…\(lastSequence) are"
            out.append("\(which) not sealed by a checkpoint yet: removing \(unsealedCount == 1 ? "it" : "them") from the end of the log would not be detected.")
        }
        if !signaturesChecked && checkpointCount > 0 {
            out.append("No audit public key was given: checkpoint signatures were not checked, so a rewritten log with forged checkpoints would pass. Give the gateway's audit public key.")
        }
        return out
    }

    /// One line for people: the verdict and the first problem.
    public var description: String {
        if let problem { return "TAMPERED: \(problem.message)" }
        let sealed = lastSealedSequence > 0 ? ", sealed up to entry \(lastSealedSequence) by \(checkpointCount) checkpoint\(checkpointCount == 1 ? "" : "s")" : ", no checkpoint"
        return "OK: \(entryCount) entr\(entryCount == 1 ? "y" : "ies") intact\(sealed)."
    }
}
