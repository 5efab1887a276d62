/// One record of the audit trail, as stored: every field is the exact text that was hashed.
///
/// Entries form a hash chain: `previousHash` is the `hash` of the entry before (32 zero bytes for
/// sequence 1) and `hash` covers `previousHash` and every field, in the canonical encoding v1
/// described in `docs/audit-format.md`. Editing, deleting, inserting or reordering an entry breaks
/// the chain; `AuditVerifier` says where.
///
/// Build a new entry with the content fields only (leave `sequence`, `previousHash` and `hash` at
/// their defaults) and let `AuditChain.append(_:)` number and seal it.
public struct AuditEntry: Sendable, Equatable {
    /// 1-based, gap-free position in the log.
    public var sequence: Int64
    /// ISO-8601 UTC with milliseconds, such as `2026-11-22T01:02:03.456Z` (see `AuditTime`).
    public var time: String
    /// `partner:<id>`, `admin:<user>` or `system`.
    public var actor: String
    /// What happened, such as `seal` or `download` (`TransferEvent.Action`'s raw values).
    public var action: String
    /// `success`, `refused`, `failed` or `partial`.
    public var outcome: String
    public var partnerID: String?
    public var claimID: String?
    /// Lowercase UUID text.
    public var bundleID: String?
    public var purpose: String?
    /// SHA-256 (lowercase hex) of each document involved, in order.
    public var documentDigests: [String]
    public var bytes: Int64?
    public var reason: String?
    /// `cli`, `sftp` or `https`.
    public var transport: String
    public var clientAddress: String?
    /// The `hash` of entry `sequence - 1`; 32 zero bytes for sequence 1.
    public var previousHash: [UInt8]
    /// SHA-256 of the canonical encoding v1 of this entry (32 bytes).
    public var hash: [UInt8]

    /// The previous hash of the first entry: 32 zero bytes.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    /// - Parameters:
    ///   - sequence: position in the log; 0 for an entry not yet appended.
    ///   - previousHash: as stored; empty for an entry not yet appended.
    ///   - hash: as stored; empty for an entry not yet appended.
    public init(sequence: Int64 = 0, time: String, actor: String, action: String, outcome: String,
                partnerID: String? = nil, claimID: String? = nil, bundleID: String? = nil, purpose: String? = nil,
                documentDigests: [String] = [], bytes: Int64? = nil, reason: String? = nil, transport: String,
                clientAddress: String? = nil, previousHash: [UInt8] = [], hash: [UInt8] = []) {
        self.sequence = sequence; self.time = time; self.actor = actor; self.action = action
        self.outcome = outcome; self.partnerID = partnerID; self.claimID = claimID; self.bundleID = bundleID
        self.purpose = purpose; self.documentDigests = documentDigests; self.bytes = bytes
        self.reason = reason; self.transport = transport; self.clientAddress = clientAddress
        self.previousHash = previousHash; self.hash = hash
    }

    /// The hash this entry should have: canonical encoding v1 over its own `previousHash`.
    public func computeHash() -> [UInt8] {
        AuditEntryHasher().hash(of: self, previous: previousHash)
    }

    /// Whether the stored `hash` is the hash of the entry's content (it was not edited).
    public var isHashValid: Bool { AuditEntryHasher().hashMatches(self) }

    /// The hash `entry` has when it follows an entry whose hash is `previous`; `entry.previousHash`
    /// and `entry.hash` are ignored.
    /// - Parameters:
    ///   - entry: the content and sequence number to hash.
    ///   - previous: the previous entry's hash (`genesisHash` for sequence 1).
    public static func hash(of entry: AuditEntry, previous: [UInt8]) -> [UInt8] {
        AuditEntryHasher().hash(of: entry, previous: previous)
    }
}
