import Audit
import Envelope
import Foundation

/// A 50-entry log sealed by checkpoints at entries 10, 20, 30, 40 and 45 (46…50 unsealed).
struct SampleLog {
    var entries: [AuditEntry]
    var checkpoints: [AuditCheckpoint]
    let key: MessageSigningKey

    static let checkpointAt: Set<Int64> = [10, 20, 30, 40, 45]

    init(count: Int = 50, key: MessageSigningKey) throws {
        self.key = key
        var chain = AuditChain()
        entries = []
        checkpoints = []
        for n in 1...count {
            entries.append(chain.append(Self.content(n)))
            if Self.checkpointAt.contains(Int64(n)) {
                checkpoints.append(try chain.checkpoint(time: Self.time(n, millis: 999), signingKey: key))
            }
        }
    }

    static func time(_ n: Int, millis: Int = 0) -> String {
        AuditTime.format(Date(timeIntervalSince1970: 1_795_000_000 + Double(n) * 60 + Double(millis) / 1000))
    }

    /// Varied content: every optional present in some entries and absent in others.
    static func content(_ n: Int) -> AuditEntry {
        let partner = "insurer-\(n % 3)"
        return AuditEntry(
            time: time(n, millis: n % 1000), actor: n % 7 == 0 ? "admin:alice" : (n % 5 == 0 ? "system" : "partner:\(partner)"),
            action: ["seal", "download", "login", "receipt", "delivery"][n % 5],
            outcome: n % 11 == 0 ? "refused" : "success",
            partnerID: n % 5 == 0 ? nil : partner, claimID: n % 2 == 0 ? "CLM-\(1000 + n)" : nil,
            bundleID: n % 3 == 0 ? UUID(uuidString: String(format: "6f1c2b1e-0000-4000-8000-%012d", n))!.uuidString.lowercased() : nil,
            purpose: n % 4 == 0 ? "claim-assessment" : nil,
            documentDigests: (0..<(n % 3)).map { SHA256Hasher.hex(Array("doc-\(n)-\($0)".utf8)) },
            bytes: n % 2 == 1 ? Int64(n) * 1_048_576 : nil,
            reason: n % 11 == 0 ? "purpose \"marketing\" not in agreement\nline 2 – ünïcode ✓ 🔒 \u{1}\u{0} \\ /" : nil,
            transport: ["cli", "sftp", "https"][n % 3],
            clientAddress: n % 3 == 0 ? nil : "192.0.2.\(n)")
    }

    /// Entries and checkpoints in export order: each checkpoint right after the entry it seals.
    var records: [AuditRecord] {
        var out: [AuditRecord] = []
        var cps = checkpoints[...]
        for e in entries {
            out.append(.entry(e))
            while let c = cps.first, c.sequence <= e.sequence { out.append(.checkpoint(c)); cps.removeFirst() }
        }
        return out
    }

    func verify(keys: [MessageVerifyingKey]? = nil) -> AuditVerification {
        AuditVerifier.verify(entries: entries, checkpoints: checkpoints, keys: keys ?? [key.publicKey])
    }

    /// Re-hashes entries from index `from` on so that the chain is self-consistent again, as an
    /// attacker with database access (but without the signing key) would.
    mutating func rehash(from index: Int) {
        for i in index..<entries.count {
            entries[i].previousHash = i == 0 ? AuditEntry.genesisHash : entries[i - 1].hash
            entries[i].hash = entries[i].computeHash()
        }
    }
}

/// A log of `count` synthetic entries, generated while it is read: nothing is kept in memory.
struct SyntheticLog: Sequence {
    let count: Int

    struct Iterator: IteratorProtocol {
        var chain = AuditChain()
        var n = 0
        let count: Int
        mutating func next() -> AuditEntry? {
            guard n < count else { return nil }
            n += 1
            return chain.append(SampleLog.content(n))
        }
    }

    func makeIterator() -> Iterator { Iterator(count: count) }
}

enum TestKeys {
    /// One key for the whole test run: Ed25519 generation is cheap, but sharing keeps tests short.
    static let gateway = try! MessageSigningKey.generate()
    static let attacker = try! MessageSigningKey.generate()
}
