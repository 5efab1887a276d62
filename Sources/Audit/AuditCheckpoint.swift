import Envelope

/// A signed statement "the log's entry `sequence` has hash `headHash`", made by the gateway's
/// audit signing key (Ed25519).
///
/// A checkpoint seals every entry up to `sequence`: rewriting any of them, even re-hashing the
/// whole chain after the edit, changes the hash of entry `sequence`, and only the holder of the
/// private key can sign a new checkpoint. Keep a copy of the latest checkpoint outside the
/// gateway's database (a ticket, an e-mail, another host) so that deleting checkpoints together
/// with the entries they seal is also found.
///
/// Signed message (see `docs/audit-format.md`):
///
///     "claimgate-audit-checkpoint-v1" 0x00 || u64be(sequence) || headHash(32) || field(time)
public struct AuditCheckpoint: Sendable, Equatable {
    /// The sequence number of the last entry sealed.
    public var sequence: Int64
    /// The hash of entry `sequence` (32 bytes).
    public var headHash: [UInt8]
    /// When the checkpoint was made, in the `AuditTime` format.
    public var time: String
    /// Lowercase hex SHA-256 of the signing key's SubjectPublicKeyInfo DER (`MessageVerifyingKey.keyID`).
    public var keyID: String
    /// Ed25519 signature (64 bytes) of `signedMessage`.
    public var signature: [UInt8]

    /// The domain-separation label that starts the signed message (followed by one 0x00 byte).
    public static let label = "claimgate-audit-checkpoint-v1"

    public init(sequence: Int64, headHash: [UInt8], time: String, keyID: String, signature: [UInt8]) {
        self.sequence = sequence; self.headHash = headHash; self.time = time
        self.keyID = keyID; self.signature = signature
    }

    /// Signs a checkpoint for the entry `sequence` whose hash is `headHash`.
    /// - Parameters:
    ///   - sequence: the last entry to seal.
    ///   - headHash: that entry's hash.
    ///   - time: now, in the `AuditTime` format.
    ///   - key: the gateway's audit signing key.
    public static func sign(sequence: Int64, headHash: [UInt8], time: String,
                            with key: MessageSigningKey) throws -> AuditCheckpoint {
        let message = signedMessage(sequence: sequence, headHash: headHash, time: time)
        return AuditCheckpoint(sequence: sequence, headHash: headHash, time: time,
                               keyID: key.publicKey.keyID, signature: try key.sign(message))
    }

    /// The exact bytes the signature covers.
    public var signedMessage: [UInt8] { Self.signedMessage(sequence: sequence, headHash: headHash, time: time) }

    /// The bytes a checkpoint signature covers.
    public static func signedMessage(sequence: Int64, headHash: [UInt8], time: String) -> [UInt8] {
        var m = Array(label.utf8)
        m.append(0)
        let s = UInt64(bitPattern: sequence)
        for shift in stride(from: 56, through: 0, by: -8) { m.append(UInt8(truncatingIfNeeded: s >> UInt64(shift))) }
        m.append(contentsOf: headHash)
        let t = Array(time.utf8)
        let n = UInt32(truncatingIfNeeded: t.count)
        for shift in stride(from: 24, through: 0, by: -8) { m.append(UInt8(truncatingIfNeeded: n >> UInt32(shift))) }
        m.append(contentsOf: t)
        return m
    }

    /// Whether `key` is the key this checkpoint names and its signature is valid.
    /// - Parameter key: a trusted verifying key.
    public func isSignatureValid(with key: MessageVerifyingKey) -> Bool {
        keyID == key.keyID && key.verify(signature: signature, message: signedMessage)
    }
}
