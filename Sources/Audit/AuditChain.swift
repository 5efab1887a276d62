import Envelope

/// The head of an audit log: numbers, links and hashes new entries, and signs checkpoints.
///
/// The writer of the log (the store) keeps one, resumed from its last entry after a restart. It
/// does not store anything itself.
public struct AuditChain: Sendable {
    /// The sequence number of the last entry; 0 for an empty log.
    public private(set) var headSequence: Int64
    /// The hash of the last entry; `AuditEntry.genesisHash` for an empty log.
    public private(set) var headHash: [UInt8]

    /// An empty log.
    public init() {
        headSequence = 0
        headHash = AuditEntry.genesisHash
    }

    /// A log whose last entry is `last` (nil for an empty log).
    /// - Parameter last: the last stored entry, as read back.
    public init(resumingAfter last: AuditEntry?) {
        headSequence = last?.sequence ?? 0
        headHash = last?.hash ?? AuditEntry.genesisHash
    }

    /// Numbers, links and hashes `entry` as the next entry of the log and makes it the head.
    /// - Parameter entry: the content; its `sequence`, `previousHash` and `hash` are replaced.
    /// - Returns: the entry to store.
    public mutating func append(_ entry: AuditEntry) -> AuditEntry {
        var e = entry
        e.sequence = headSequence + 1
        e.previousHash = headHash
        e.hash = AuditEntry.hash(of: e, previous: headHash)
        headSequence = e.sequence
        headHash = e.hash
        return e
    }

    /// Signs a checkpoint that seals every entry up to the current head.
    /// - Parameters:
    ///   - time: now, in the `AuditTime` format.
    ///   - key: the gateway's audit signing key.
    public func checkpoint(time: String, signingKey key: MessageSigningKey) throws -> AuditCheckpoint {
        try AuditCheckpoint.sign(sequence: headSequence, headHash: headHash, time: time, with: key)
    }
}
