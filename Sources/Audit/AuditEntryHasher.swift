import Envelope

/// Canonical encoding v1 of audit entries and their SHA-256, reusing one buffer so that hashing a
/// long log allocates almost nothing per entry.
///
/// The encoding, byte by byte, is in `docs/audit-format.md`:
///
///     "claimgate-audit-entry-v1" 0x00 || previousHash || u64be(sequence) || field(time)
///     || field(actor) || field(action) || field(outcome) || opt(partnerID) || opt(claimID)
///     || opt(bundleID) || opt(purpose) || u32be(count) || field(digest)… || optInt(bytes)
///     || opt(reason) || field(transport) || opt(clientAddress)
///
/// One hasher is not safe to share between threads: give each verifier or writer its own.
public final class AuditEntryHasher {
    /// The domain-separation label that starts every encoded entry (followed by one 0x00 byte).
    public static let label = "claimgate-audit-entry-v1"

    private var buffer: [UInt8] = []
    private let digester = SHA256Digester()
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)

    public init() { buffer.reserveCapacity(1024) }

    deinit { output.deallocate() }

    /// The canonical encoding v1 of `entry` following an entry whose hash is `previous`: the exact
    /// bytes whose SHA-256 is the entry hash. For tests and for re-implementers.
    public func canonicalEncoding(of entry: AuditEntry, previous: [UInt8]) -> [UInt8] {
        encode(entry, previous: previous)
        return buffer
    }

    /// The hash of `entry` when it follows an entry whose hash is `previous`.
    public func hash(of entry: AuditEntry, previous: [UInt8]) -> [UInt8] {
        encode(entry, previous: previous)
        digest()
        return Array(UnsafeRawBufferPointer(output))
    }

    /// Whether `entry.hash` is the hash of its content over its own `previousHash`.
    public func hashMatches(_ entry: AuditEntry) -> Bool {
        guard entry.hash.count == 32 else { return false }
        encode(entry, previous: entry.previousHash)
        digest()
        return entry.hash.withUnsafeBytes { stored in
            var diff: UInt8 = 0
            for i in 0..<32 { diff |= stored[i] ^ output[i] }
            return diff == 0
        }
    }

    private func digest() {
        buffer.withUnsafeBytes { digester.digest($0, into: output) }
    }

    // MARK: Encoding

    /// Encodes into `buffer`. The buffer is moved into a local variable while it is filled: each
    /// append to a class's stored property would otherwise pay a dynamic exclusivity check.
    private func encode(_ e: AuditEntry, previous: [UInt8]) {
        var b: [UInt8] = []
        swap(&b, &buffer)
        b.removeAll(keepingCapacity: true)
        Self.encode(e, previous: previous, into: &b)
        swap(&b, &buffer)
    }

    private static func encode(_ e: AuditEntry, previous: [UInt8], into b: inout [UInt8]) {
        appendRaw(label, to: &b)
        b.append(0)
        b.append(contentsOf: previous)
        appendU64(UInt64(bitPattern: e.sequence), to: &b)
        appendField(e.time, to: &b)
        appendField(e.actor, to: &b)
        appendField(e.action, to: &b)
        appendField(e.outcome, to: &b)
        appendOptional(e.partnerID, to: &b)
        appendOptional(e.claimID, to: &b)
        appendOptional(e.bundleID, to: &b)
        appendOptional(e.purpose, to: &b)
        appendU32(UInt32(truncatingIfNeeded: e.documentDigests.count), to: &b)
        for d in e.documentDigests { appendField(d, to: &b) }
        if let bytes = e.bytes {
            b.append(1)
            appendU64(UInt64(bitPattern: bytes), to: &b)
        } else {
            b.append(0)
        }
        appendOptional(e.reason, to: &b)
        appendField(e.transport, to: &b)
        appendOptional(e.clientAddress, to: &b)
    }

    @inline(__always) private static func appendU32(_ v: UInt32, to b: inout [UInt8]) {
        b.append(UInt8(truncatingIfNeeded: v >> 24)); b.append(UInt8(truncatingIfNeeded: v >> 16))
        b.append(UInt8(truncatingIfNeeded: v >> 8)); b.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always) private static func appendU64(_ v: UInt64, to b: inout [UInt8]) {
        appendU32(UInt32(truncatingIfNeeded: v >> 32), to: &b)
        appendU32(UInt32(truncatingIfNeeded: v), to: &b)
    }

    @inline(__always) private static func appendRaw(_ s: String, to b: inout [UInt8]) {
        if s.utf8.withContiguousStorageIfAvailable({ b.append(contentsOf: $0) }) == nil {
            b.append(contentsOf: s.utf8)
        }
    }

    /// u32be(byte length of the UTF-8) || the UTF-8 bytes.
    @inline(__always) private static func appendField(_ s: String, to b: inout [UInt8]) {
        appendU32(UInt32(truncatingIfNeeded: s.utf8.count), to: &b)
        appendRaw(s, to: &b)
    }

    /// 0x00 when absent, else 0x01 || field(s).
    @inline(__always) private static func appendOptional(_ s: String?, to b: inout [UInt8]) {
        if let s {
            b.append(1)
            appendField(s, to: &b)
        } else {
            b.append(0)
        }
    }
}
