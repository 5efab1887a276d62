import Audit
import Envelope
import Foundation
import Testing

@Suite struct AuditVerifierTests {
    let log: SampleLog
    init() throws { log = try SampleLog(key: TestKeys.gateway) }

    func expectProblem(_ result: AuditVerification, _ code: AuditError.Code, at sequence: Int64,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.problem?.code == code, "\(result)", sourceLocation: sourceLocation)
        #expect(result.problem?.sequence == sequence, "\(result)", sourceLocation: sourceLocation)
        #expect(!result.isIntact, sourceLocation: sourceLocation)
    }

    @Test func intactLogVerifies() {
        let r = log.verify()
        #expect(r.isIntact, "\(r)")
        #expect(r.entryCount == 50 && r.lastSequence == 50)
        #expect(r.lastSealedSequence == 45 && r.checkpointCount == 5 && r.signaturesChecked)
        #expect(r.unsealedCount == 5)
        #expect(r.warnings == ["Entries 46…50 are not sealed by a checkpoint yet: removing them from the end of the log would not be detected."])
        #expect(r.description == "OK: 50 entries intact, sealed up to entry 45 by 5 checkpoints.")
    }

    @Test func emptyLogIsIntact() {
        let r = AuditVerifier.verify(entries: [], keys: [log.key.publicKey])
        #expect(r.isIntact && r.entryCount == 0 && r.warnings.isEmpty)
    }

    @Test func chainLinksAndHashes() {
        #expect(log.entries[0].previousHash == AuditEntry.genesisHash)
        for i in 1..<log.entries.count {
            #expect(log.entries[i].previousHash == log.entries[i - 1].hash)
            #expect(log.entries[i].sequence == Int64(i + 1))
        }
        #expect(log.entries.allSatisfy { $0.isHashValid && $0.hash.count == 32 })
        #expect(Set(log.entries.map(\.hash)).count == 50)
    }

    @Test func editedFieldIsFound() {
        for edit: (inout AuditEntry) -> Void in [
            { $0.claimID = "CLM-9999" }, { $0.claimID = nil }, { $0.reason = "" }, { $0.bytes = 0 },
            { $0.documentDigests.append(String(repeating: "0", count: 64)) }, { $0.time = "2026-01-01T00:00:00.000Z" },
            { $0.transport = "cli" }, { $0.previousHash[0] ^= 1 }, { $0.hash[31] ^= 1 },
        ] {
            var t = log
            edit(&t.entries[19])
            expectProblem(t.verify(), .entryEdited, at: 20)
        }
    }

    @Test func fieldBoundariesMatter() {
        // Moving text from one field to the next must change the hash (length prefixes).
        var a = log.entries[1]
        var b = a
        a.action = "seal"; a.outcome = "success"
        b.action = "sealsuccess"; b.outcome = ""
        #expect(a.computeHash() != b.computeHash())
        // Absent and empty are different.
        var c = a, d = a
        c.reason = nil; d.reason = ""
        #expect(c.computeHash() != d.computeHash())
    }

    @Test func deletedEntryIsAGap() {
        var t = log
        t.entries.remove(at: 19)
        let r = t.verify()
        expectProblem(r, .sequenceGap, at: 20)
        #expect(r.problem?.message == "Expected entry 20 after entry 19 but found entry 21: entry 20 was deleted.")
        var first = log
        first.entries.removeFirst()
        expectProblem(first.verify(), .sequenceGap, at: 1)
        var several = log
        several.entries.removeSubrange(24..<27)
        let s = several.verify()
        expectProblem(s, .sequenceGap, at: 25)
        #expect(s.problem?.message.contains("entries 25…27 were deleted") == true)
    }

    /// An attacker adds a well-formed entry 21 after entry 20, leaving the real 21 in place.
    @Test func insertedDuplicateIsOutOfOrder() {
        var t = log
        var forged = SampleLog.content(99)
        forged.sequence = 21
        forged.previousHash = t.entries[19].hash
        forged.hash = forged.computeHash()
        t.entries.insert(forged, at: 20)
        let r = t.verify()
        expectProblem(r, .outOfOrder, at: 21)
        #expect(r.problem?.message == "Entry 21 appears twice: an entry was inserted or duplicated.")
    }

    /// The attacker renumbers the entries after the insertion and fixes each one's own hash,
    /// but cannot fix the link without re-hashing everything.
    @Test func insertedAndRenumberedBreaksTheLink() {
        var t = log
        var forged = SampleLog.content(99)
        forged.sequence = 21
        forged.previousHash = t.entries[19].hash
        forged.hash = forged.computeHash()
        for i in 20..<t.entries.count {
            t.entries[i].sequence += 1
            t.entries[i].hash = t.entries[i].computeHash()
        }
        t.entries.insert(forged, at: 20)
        expectProblem(t.verify(), .linkBroken, at: 22)
    }

    @Test func swappedEntriesAreOutOfOrder() {
        var t = log
        t.entries.swapAt(9, 10)
        let r = t.verify()
        expectProblem(r, .outOfOrder, at: 10)
        #expect(r.problem?.message == "Entry 10 comes after entry 11: entries were swapped or moved.")
        // Moved further down: still a move, not a deletion.
        var m = log
        let e = m.entries.remove(at: 9)
        m.entries.insert(e, at: 15)
        expectProblem(m.verify(), .outOfOrder, at: 10)
        // Moved up.
        var u = log
        let f = u.entries.remove(at: 30)
        u.entries.insert(f, at: 25)
        expectProblem(u.verify(), .outOfOrder, at: 26)
    }

    @Test func swappedContentWithRenumberingIsAnEdit() {
        var t = log
        let (a, b) = (t.entries[9], t.entries[10])
        t.entries[9] = b; t.entries[9].sequence = 10
        t.entries[10] = a; t.entries[10].sequence = 11
        expectProblem(t.verify(), .entryEdited, at: 10)
    }

    @Test func replacedFirstEntryIsFound() {
        var t = log
        t.entries[0].previousHash = [UInt8](repeating: 7, count: 32)
        t.entries[0].hash = t.entries[0].computeHash()
        t.rehash(from: 1)
        let r = t.verify()
        expectProblem(r, .linkBroken, at: 1)
        #expect(r.problem?.message == "Entry 1 does not start the log: its previous hash is not 32 zero bytes.")
    }

    @Test func truncationBeforeTheLastCheckpointIsFound() {
        var t = log
        t.entries.removeLast(8)   // the log now ends at 42; the checkpoint at 45 remains
        let r = t.verify()
        expectProblem(r, .truncated, at: 43)
        #expect(r.problem?.message == "The log ends at entry 42 but a checkpoint seals entries up to 45: entries 43…45 were removed.")
        #expect(r.lastSealedSequence == 40)
    }

    /// Documented limit: entries after the last checkpoint are not sealed, so removing them is not
    /// detectable; the result reports them as unsealed instead.
    @Test func truncationOfUnsealedEntriesIsOnlyAWarning() {
        var t = log
        t.entries.removeLast(3)
        let r = t.verify()
        #expect(r.isIntact && r.lastSequence == 47 && r.unsealedCount == 2)
        #expect(r.warnings.count == 1)
    }

    @Test func rewrittenAndRehashedTailFailsAtTheNextCheckpoint() {
        var t = log
        t.entries[32].reason = "nothing happened here"
        t.rehash(from: 32)
        // Without checkpoints the rewrite is invisible: that is what checkpoints are for.
        #expect(AuditVerifier.verify(entries: t.entries, keys: [log.key.publicKey]).isIntact)
        let r = t.verify()
        expectProblem(r, .checkpointMismatch, at: 40)
        #expect(r.problem?.message == "The checkpoint for entry 40 does not match entry 40: the log was rewritten at or before entry 40, after the last good checkpoint at entry 30.")
        #expect(r.lastSealedSequence == 30)
        // Even with no key to check signatures, head hashes are compared.
        expectProblem(t.verify(keys: []), .checkpointMismatch, at: 40)
    }

    @Test func rewrittenLogWithForgedCheckpointsNamesAnUnknownKey() throws {
        var t = log
        t.entries[32].reason = "nothing happened here"
        t.rehash(from: 32)
        for i in t.checkpoints.indices where t.checkpoints[i].sequence >= 33 {
            let seq = t.checkpoints[i].sequence
            t.checkpoints[i] = try AuditCheckpoint.sign(sequence: seq, headHash: t.entries[Int(seq) - 1].hash,
                                                        time: t.checkpoints[i].time, with: TestKeys.attacker)
        }
        let r = t.verify()
        expectProblem(r, .unknownKey, at: 40)
        // Forged with the attacker's key but naming the gateway's key id: a bad signature.
        for i in t.checkpoints.indices where t.checkpoints[i].sequence >= 33 { t.checkpoints[i].keyID = log.key.publicKey.keyID }
        expectProblem(t.verify(), .badCheckpointSignature, at: 40)
        // Without a trusted key the forgery passes: the result says signatures were not checked.
        let unchecked = t.verify(keys: [])
        #expect(unchecked.isIntact && !unchecked.signaturesChecked)
        #expect(unchecked.warnings.contains { $0.contains("No audit public key was given") })
    }

    @Test func wrongKeyIsFoundAtTheFirstCheckpoint() {
        let r = log.verify(keys: [TestKeys.attacker.publicKey])
        expectProblem(r, .unknownKey, at: 10)
        // Key rotation: any trusted key will do.
        #expect(log.verify(keys: [TestKeys.attacker.publicKey, log.key.publicKey]).isIntact)
    }

    @Test func alteredCheckpointIsFound() {
        var t = log
        t.checkpoints[1].signature[5] ^= 0x40
        expectProblem(t.verify(), .badCheckpointSignature, at: 20)
        var h = log
        h.checkpoints[2].headHash[0] ^= 1
        expectProblem(h.verify(), .badCheckpointSignature, at: 30)
        var tm = log
        tm.checkpoints[2].time = "2030-01-01T00:00:00.000Z"
        expectProblem(tm.verify(), .badCheckpointSignature, at: 30)
    }

    @Test func streamedRecordsInExportOrderVerify() {
        var v = AuditVerifier(keys: [log.key.publicKey])
        for r in log.records { v.add(r) }
        let r = v.finish()
        #expect(r.isIntact && r.lastSealedSequence == 45 && r.checkpointCount == 5)
    }

    @Test func checkpointAfterLaterEntriesIsMisplaced() {
        var records = log.records
        let i = records.firstIndex { if case .checkpoint = $0 { return true } else { return false } }!
        let cp = records.remove(at: i)
        records.insert(cp, at: i + 2)
        var v = AuditVerifier(keys: [log.key.publicKey])
        for r in records { v.add(r) }
        let r = v.finish()
        #expect(r.problem?.code == .checkpointMisplaced && r.problem?.sequence == 10)
    }

    @Test func resumedVerificationChecksOnlyTheTail() {
        let anchor = log.entries[29]
        var v = AuditVerifier(keys: [log.key.publicKey], resumingAfter: anchor.sequence, headHash: anchor.hash)
        for cp in log.checkpoints { v.add(cp) }
        for e in log.entries.dropFirst(30) { v.add(e) }
        let r = v.finish()
        #expect(r.isIntact && r.entryCount == 20 && r.lastSealedSequence == 45 && r.checkpointCount == 3)
    }

    @Test func tamperingCodesAreDistinct() {
        let codes: [AuditError.Code] = [.entryEdited, .linkBroken, .sequenceGap, .outOfOrder, .checkpointMismatch,
                                        .badCheckpointSignature, .unknownKey, .truncated, .checkpointMisplaced]
        #expect(Set(codes).count == codes.count)
        #expect(Set(codes.map(\.name)).count == codes.count)
    }

    /// Not a timed assertion: 100,000 entries generated while they are read verify in one pass.
    @Test func hundredThousandEntriesVerifyStreaming() throws {
        let count = 100_000
        var chain = AuditChain()
        for e in SyntheticLog(count: count) { chain = AuditChain(resumingAfter: e) }
        let cp = try AuditCheckpoint.sign(sequence: chain.headSequence, headHash: chain.headHash,
                                          time: SampleLog.time(count), with: log.key)
        let r = AuditVerifier.verify(entries: SyntheticLog(count: count), checkpoints: [cp], keys: [log.key.publicKey])
        #expect(r.isIntact && r.entryCount == Int64(count) && r.lastSealedSequence == Int64(count) && r.unsealedCount == 0)
    }
}
