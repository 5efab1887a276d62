import Audit
import ClaimGateCore
import Foundation

/// The event table is the audit trail: each row carries the hash of the previous row over the
/// canonical encoding in docs/audit-format.md, and signed checkpoints seal the head.
extension GatewayStore {

    /// - Parameter reason: the entry's reason as a code and subject, stored beside the hashed
    ///   text in their own columns (what reports and metrics read).
    static func appendAuditEntry(_ content: AuditEntry, reason: EventReason?, _ db: any SQLSession) throws {
        // Cached statements: every transfer appends, so neither is parsed again per entry.
        let head = try SQLRow.fetchOne(db.cachedStatement(sql: "SELECT seq, hash, time FROM event ORDER BY seq DESC LIMIT 1"))
        var e = content
        // Times follow the sequence: an event stamped just before another one committed first
        // (or a clock stepped back) takes the previous entry's time, so a time window is always a
        // contiguous run of entries.
        if let previous: String = head?["time"], previous > e.time { e.time = previous }
        e.sequence = (head?["seq"] as Int64? ?? 0) + 1
        e.previousHash = head.map { [UInt8]($0["hash"] as Data? ?? Data()) } ?? AuditEntry.genesisHash
        e.hash = AuditEntry.hash(of: e, previous: e.previousHash)
        try db.cachedStatement(sql: """
            INSERT INTO event(seq, time, actor, action, outcome, partner_id, claim_id, bundle_id, purpose, document_digests,
                              bytes, reason, transport, client_address, prev_hash, hash, reason_code, subject)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [e.sequence, e.time, e.actor, e.action, e.outcome, e.partnerID, e.claimID, e.bundleID, e.purpose,
                                     try digestsJSON(e.documentDigests), e.bytes, e.reason, e.transport, e.clientAddress,
                                     Data(e.previousHash), Data(e.hash), reason?.code.rawValue, reason?.subject])
    }


    /// Whether a row's reason columns are what its hashed reason text says: the columns are
    /// not covered by the entry hash, so `audit verify` checks that they are its projection.
    static func reasonColumnsMatch(_ row: SQLRow) -> Bool {
        let text: String? = row["reason"], code: String? = row["reason_code"], subject: String? = row["subject"]
        guard let text else { return code == nil && subject == nil }
        // Written without the columns (by a gateway older than migration v9 still running on a
        // migrated database): nothing was edited, and the hashed text is intact.
        if code == nil && subject == nil { return true }
        let r = EventReason.parse(recorded: text, action: row["action"])
        return r.code.rawValue == code && r.subject == subject
    }


    static let auditOriginSetting = "audit_origin"

    /// The action of the genesis entry, entry 1 of every trail `init` starts.
    public static let genesisAction = "audit-genesis"

    /// Writes the genesis entry: entry 1 of a new trail, actor `system`, reason
    /// `audit-key: <key id>` naming the audit key whose checkpoints seal the trail from its
    /// start. Only into an empty trail; the caller seals it with a checkpoint at once.
    /// - Parameters:
    ///   - keyID: the audit key's id (hex SHA-256 of its SubjectPublicKeyInfo).
    ///   - time: now, in the `AuditTime` format.
    public func appendGenesis(keyID: String, time: String) throws {
        try commits.write { db in
            guard try Int64.fetchOne(db, sql: "SELECT count(*) FROM event") == 0 else {
                throw ClaimGateError(.alreadyInitialised, "The audit trail has already begun: it has no place for a genesis entry.")
            }
            let reason = EventReason(.auditKey, keyID)
            try Self.appendAuditEntry(AuditEntry(time: time, actor: "system", action: Self.genesisAction, outcome: "success",
                                                 reason: reason.text, transport: "cli"), reason: reason, db)
        }
    }

    /// How a store's trail began (migration `v10-audit-origin`).
    public enum AuditOrigin: Sendable, Equatable {
        /// A store created with a genesis entry as its entry 1.
        case genesis
        /// A store whose trail predates the genesis entry: it held entries 1…`entries` when it
        /// was migrated.
        case legacy(entries: Int64)
        /// No record (or one that does not parse): the store was re-created or edited.
        case unknown
    }

    /// How this store's trail began.
    public func auditOrigin() throws -> AuditOrigin {
        guard let text = try setting(Self.auditOriginSetting) else { return .unknown }
        if text == "genesis" { return .genesis }
        if text.hasPrefix("legacy:"), let n = Int64(text.dropFirst(7)), n > 0 { return .legacy(entries: n) }
        return .unknown
    }

    /// The first bundle (oldest first) that has no `seal` or `queue` entry in the trail: every
    /// bundle the gateway stored was recorded in the same transaction, so such a row was added
    /// behind its back, or its entries were removed. Nil when every bundle has its entry.
    public func firstBundleWithoutSealEntry() throws -> String? {
        try db.read { db in
            try String.fetchOne(db, sql: """
                SELECT b.id FROM bundle b
                WHERE NOT EXISTS (SELECT 1 FROM event e WHERE e.bundle_id = b.id AND e.action IN ('seal', 'queue'))
                ORDER BY b.created_at, b.id LIMIT 1
                """)
        }
    }

    /// The first and last sequence numbers of the entries timed in `[since, until)`; nil when
    /// there are none.
    public func auditSequenceRange(since: String? = nil, until: String? = nil) throws -> (first: Int64, last: Int64)? {
        var conditions: [String] = []
        var args: [any SQLEncodable] = []
        if let since { conditions.append("time >= ?"); args.append(since) }
        if let until { conditions.append("time < ?"); args.append(until) }
        let whereSQL = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try db.read { db in
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT min(seq) AS a, max(seq) AS b FROM event \(whereSQL)",
                                             arguments: SQLArguments(args)),
                  let first: Int64 = row["a"], let last: Int64 = row["b"] else { return nil }
            return (first, last)
        }
    }

    /// `["<hex>", …]`: digests are hex, so no escaping is needed; anything else goes through JSONEncoder.
    static func digestsJSON(_ digests: [String]) throws -> String {
        guard digests.allSatisfy({ $0.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) } }) else {
            return String(decoding: try JSONEncoder().encode(digests), as: UTF8.self)
        }
        return "[" + digests.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    /// An audit entry from an `event` row, as stored.
    static func entry(_ row: SQLRow) -> AuditEntry {
        let digestsText: String = row["document_digests"] ?? "[]"
        let digests = parseDigests(digestsText)
        return AuditEntry(sequence: row["seq"], time: row["time"], actor: row["actor"], action: row["action"], outcome: row["outcome"],
                          partnerID: row["partner_id"], claimID: row["claim_id"], bundleID: row["bundle_id"], purpose: row["purpose"],
                          documentDigests: digests, bytes: row["bytes"], reason: row["reason"], transport: row["transport"],
                          clientAddress: row["client_address"],
                          previousHash: [UInt8](row["prev_hash"] as Data? ?? Data()), hash: [UInt8](row["hash"] as Data? ?? Data()))
    }

    /// The inverse of `digestsJSON`, fast for what it writes (`[]`, `["hex",…]`); anything else
    /// through JSONDecoder (a value that does not parse reads as no digests, and the entry's hash
    /// then no longer matches).
    static func parseDigests(_ text: String) -> [String] {
        if text == "[]" { return [] }
        let u = Array(text.utf8)
        if u.count >= 4, u.first == 0x5B, u.last == 0x5D, !u.contains(0x5C) {
            let inner = text.dropFirst().dropLast()
            let parts = inner.split(separator: ",", omittingEmptySubsequences: false)
            if parts.allSatisfy({ $0.count >= 2 && $0.first == "\"" && $0.last == "\"" && !$0.dropFirst().dropLast().contains("\"") }) {
                return parts.map { String($0.dropFirst().dropLast()) }
            }
        }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    // MARK: Reading the trail

    /// The last entry's sequence number and hash (0 and the genesis hash for an empty log).
    public func auditHead() throws -> (sequence: Int64, hash: [UInt8]) {
        try db.read { db in
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT seq, hash FROM event ORDER BY seq DESC LIMIT 1") else {
                return (0, AuditEntry.genesisHash)
            }
            return (row["seq"], [UInt8](row["hash"] as Data? ?? Data()))
        }
    }

    /// Calls `body` with every entry in sequence order (optionally only those with a time in
    /// `[since, until)`), streaming: memory does not grow with the log.
    /// - Parameter inconsistentReason: called with the sequence of an entry whose `reason_code`
    ///   and `subject` columns (which the hash does not cover) are not what its hashed reason
    ///   text says, before that entry is handed to `body`.
    /// - Parameter through: only entries up to this sequence number.
    public func forEachAuditEntry(since: String? = nil, until: String? = nil, through: Int64? = nil,
                                  inconsistentReason: ((Int64) throws -> Void)? = nil, _ body: (AuditEntry) throws -> Void) throws {
        var conditions: [String] = []
        var args: [any SQLEncodable] = []
        if let since { conditions.append("time >= ?"); args.append(since) }
        if let until { conditions.append("time < ?"); args.append(until) }
        if let through { conditions.append("seq <= ?"); args.append(through) }
        let whereSQL = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        try db.read { db in
            let rows = try SQLRow.fetchCursor(db, sql: "SELECT * FROM event \(whereSQL) ORDER BY seq", arguments: SQLArguments(args))
            while let row = try rows.next() {
                if let inconsistentReason, !Self.reasonColumnsMatch(row) { try inconsistentReason(row["seq"]) }
                try body(Self.entry(row))
            }
        }
    }

    /// Every checkpoint, oldest first.
    public func auditCheckpoints() throws -> [AuditCheckpoint] {
        try db.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM audit_checkpoint ORDER BY seq").map {
                AuditCheckpoint(sequence: $0["seq"], headHash: [UInt8]($0["head_hash"] as Data), time: $0["time"],
                                keyID: $0["key_id"], signature: [UInt8]($0["signature"] as Data))
            }
        }
    }

    /// Signs and stores a checkpoint of entry `sequence` (an entry before the head, such as the
    /// last one of an export's time window), unless it has one.
    /// - Parameter sign: signs (sequence, head hash); called inside the write.
    /// - Returns: the new checkpoint, or nil when the entry already had one or does not exist.
    @discardableResult
    public func checkpointAuditEntry(_ sequence: Int64, after witness: (sequence: Int64, headHash: [UInt8])? = nil,
                                     sign: @escaping (_ sequence: Int64, _ headHash: [UInt8]) throws -> AuditCheckpoint) throws -> AuditCheckpoint? {
        try commits.write { db in
            try Self.requireWitness(witness, db)
            guard let hash = try Data.fetchOne(db, sql: "SELECT hash FROM event WHERE seq = ?", arguments: [sequence]),
                  try Bool.fetchOne(db, sql: "SELECT 1 FROM audit_checkpoint WHERE seq = ?", arguments: [sequence]) != true
            else { return nil }
            let c = try sign(sequence, [UInt8](hash))
            try db.execute(sql: "INSERT INTO audit_checkpoint(seq, head_hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?)",
                           arguments: [c.sequence, Data(c.headHash), c.time, c.keyID, Data(c.signature)])
            return c
        }
    }

    /// Signs and stores a checkpoint of the current head, unless the head is already sealed.
    /// - Parameter sign: signs (sequence, head hash) at the given time; called inside the write.
    /// - Returns: the new checkpoint, or nil when nothing was appended since the last one.
    @discardableResult
    public func checkpointAudit(after witness: (sequence: Int64, headHash: [UInt8])? = nil,
                                sign: @escaping (_ sequence: Int64, _ headHash: [UInt8]) throws -> AuditCheckpoint) throws -> AuditCheckpoint? {
        try commits.write { db in
            try Self.requireWitness(witness, db)
            guard let head = try SQLRow.fetchOne(db, sql: "SELECT seq, hash FROM event ORDER BY seq DESC LIMIT 1") else { return nil }
            let seq: Int64 = head["seq"]
            let last = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_checkpoint") ?? 0
            guard seq > last else { return nil }
            let c = try sign(seq, [UInt8](head["hash"] as Data))
            try db.execute(sql: "INSERT INTO audit_checkpoint(seq, head_hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?)",
                           arguments: [c.sequence, Data(c.headHash), c.time, c.keyID, Data(c.signature)])
            return c
        }
    }

    /// The checkpoint a gateway signed last is no longer in the store as it signed it: checkpoint
    /// rows were deleted or replaced. No checkpoint is signed over such a trail.
    public struct WitnessMismatch: Error, Sendable {
        public let sequence: Int64
    }

    /// Throws `WitnessMismatch` unless the store holds a checkpoint of `witness.sequence` for
    /// `witness.headHash`, and the entry it seals still has that hash.
    static func requireWitness(_ witness: (sequence: Int64, headHash: [UInt8])?, _ db: any SQLSession) throws {
        guard let witness else { return }
        let checkpoint = try Data.fetchOne(db, sql: "SELECT head_hash FROM audit_checkpoint WHERE seq = ?", arguments: [witness.sequence])
        let entry = try Data.fetchOne(db, sql: "SELECT hash FROM event WHERE seq = ?", arguments: [witness.sequence])
        guard let checkpoint, let entry, [UInt8](checkpoint) == witness.headHash, [UInt8](entry) == witness.headHash else {
            throw WitnessMismatch(sequence: witness.sequence)
        }
    }

    /// Whether the store holds the checkpoint a gateway signed last, as it signed it.
    public func holdsWitness(sequence: Int64, headHash: [UInt8]) throws -> Bool {
        try db.read { db in
            do { try Self.requireWitness((sequence, headHash), db); return true } catch is WitnessMismatch { return false }
        }
    }
}
