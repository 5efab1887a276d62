import ClaimGateCore
import Envelope
import Foundation

/// The last checkpoint this home signed (its sequence and head hash), kept beside the audit key
/// in `identity/audit-witness` (0600), outside the database.
///
/// Checkpoints live in the database, and nothing in the chain shows a checkpoint row that was
/// deleted. Without a record of its own, a gateway would sign whatever head it finds: someone
/// who can write the database but not read the audit key could delete the checkpoints, re-chain
/// the entries as they like, and have the gateway's next checkpoint vouch for them. So before
/// signing, the gateway requires that the checkpoint it signed last is still in the store, for
/// the same head hash; `audit verify` requires it too. (Someone who can also write the identity
/// folder can replace this file; checkpoints kept off the host are what stop them.)
struct AuditWitness: Equatable, Sendable {
    let sequence: Int64
    let headHash: [UInt8]

    static let fileName = "audit-witness"

    /// The witness in `identityFolder`, or nil for a home that has not signed since witnesses
    /// were kept.
    static func read(in identityFolder: String) throws -> AuditWitness? {
        let path = identityFolder + "/" + fileName
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            throw ClaimGateError(.io, "Cannot read \(path): check its permissions (the gateway signs no checkpoint without it).")
        }
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let seq = Int64(parts[0]), seq > 0, parts[1].utf8.count == 64,
              let hash = Hex.decode(parts[1]) else {
            throw ClaimGateError(.io, "\(path) is damaged: it should hold the sequence and head hash of the last checkpoint this gateway signed. Restore it from a backup of the identity folder.")
        }
        return AuditWitness(sequence: seq, headHash: hash)
    }

    /// Records `self` as the last checkpoint signed, unless the file already names a later one
    /// (another process signed meanwhile): under an exclusive lock, through a temporary file,
    /// fsync and rename.
    func record(in identityFolder: String) throws {
        let lockPath = identityFolder + "/." + Self.fileName + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw ClaimGateError(.io, "Cannot lock \(lockPath): \(String(cString: strerror(errno))).") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw ClaimGateError(.io, "Cannot lock \(lockPath): \(String(cString: strerror(errno))).") }
        if let current = try Self.read(in: identityFolder), current.sequence >= sequence { return }
        let text = "\(sequence) \(Hex.encode(headHash))\n"
        try FileSystem.writeAtomically(Data(text.utf8), to: identityFolder + "/" + Self.fileName, mode: 0o600, replace: true)
    }
}
