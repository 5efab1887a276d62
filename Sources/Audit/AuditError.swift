/// An error of the audit trail: a tampering found by `AuditVerifier`, or an export that cannot be
/// read or written.
///
/// `code` is stable and comparable; `message` is one plain-English sentence for people. Messages
/// name sequence numbers and line numbers only, never an entry's content (claim ids, reasons,
/// addresses stay out of errors and logs).
public struct AuditError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        // Tampering, found by `AuditVerifier`. `sequence` says where.

        /// An entry's stored hash is not the hash of its content: a field was edited.
        public static let entryEdited = Code("entry-edited")
        /// An entry's `previousHash` is not the hash of the entry before it: one was inserted or moved.
        public static let linkBroken = Code("link-broken")
        /// Sequence numbers jump: entries were deleted.
        public static let sequenceGap = Code("sequence-gap")
        /// A sequence number repeats or goes backwards: entries were swapped, moved or duplicated.
        public static let outOfOrder = Code("out-of-order")
        /// A checkpoint signs a head hash that the entry it names does not have: the log was
        /// rewritten (and re-hashed) at or before that entry.
        public static let checkpointMismatch = Code("checkpoint-mismatch")
        /// A checkpoint's signature is not valid for the trusted key it names.
        public static let badCheckpointSignature = Code("bad-checkpoint-signature")
        /// A checkpoint names a key that is not among the trusted keys.
        public static let unknownKey = Code("unknown-key")
        /// The log ends before the last checkpoint: sealed entries at its end were removed.
        public static let truncated = Code("truncated")
        /// A checkpoint comes after later entries, so it cannot be checked in one pass.
        public static let checkpointMisplaced = Code("checkpoint-misplaced")
        /// The gateway's trail does not start with its genesis entry (written by `init`, naming the
        /// home's audit key): the store was emptied, re-created, or lost its first entries.
        public static let genesisMissing = Code("genesis-missing")
        /// A bundle is in the gateway's store but the trail has no `seal` or `queue` entry for it:
        /// the row was inserted behind the gateway's back, or its entries were removed.
        public static let unrecordedBundle = Code("unrecorded-bundle")
        /// An export's last entries are not sealed by a checkpoint in it: an export always ends
        /// with the checkpoint of its last entry, so its end was cut off.
        public static let unsealedEnd = Code("unsealed-end")
        /// An export holds no entry at all (a header alone proves nothing).
        public static let emptyExport = Code("empty-export")

        // Reading and writing exports.

        /// A line of an export is not valid: `message` names the line.
        public static let malformedExport = Code("malformed-export")
        /// The export's version or entry hash is not one this build knows.
        public static let unsupportedVersion = Code("unsupported-version")
        /// A file cannot be opened, read or written.
        public static let io = Code("io")
    }

    public let code: Code
    /// One sentence: what is wrong (and, for read errors, what to do).
    public let message: String
    /// For tampering: the sequence number the problem concerns (see each code's documentation).
    public let sequence: Int64?
    /// Internal detail for the log only.
    public let diagnostics: String?
    public let file: String
    public let line: Int

    init(_ code: Code, _ message: String, sequence: Int64? = nil, diagnostics: String? = nil,
         file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.sequence = sequence
        self.diagnostics = diagnostics
        self.file = file
        self.line = line
    }

    /// An entry found edited by a check outside the chain (the store's columns beside the hashed
    /// fields).
    public static func entryEdited(sequence: Int64, _ message: String, file: String = #fileID, line: Int = #line) -> AuditError {
        AuditError(.entryEdited, message, sequence: sequence, file: file, line: line)
    }

    /// A finding about the gateway's trail made outside the chain (its genesis entry, its
    /// bundles' entries).
    /// - Parameters:
    ///   - code: `genesisMissing`, `unrecordedBundle` or `truncated`.
    ///   - sequence: the entry concerned, if there is one.
    ///   - message: one sentence: what is wrong.
    public static func finding(_ code: Code, sequence: Int64?, _ message: String,
                               file: String = #fileID, line: Int = #line) -> AuditError {
        AuditError(code, message, sequence: sequence, file: file, line: line)
    }

    /// Whether this is a finding about the log's integrity (as opposed to a read or write failure).
    public var isTampering: Bool { ![Code.malformedExport, .unsupportedVersion, .io].contains(code) }

    public var description: String { message }
    public static func == (a: Self, b: Self) -> Bool {
        a.code == b.code && a.sequence == b.sequence && a.message == b.message
    }
    public func hash(into h: inout Hasher) { h.combine(code); h.combine(sequence); h.combine(message) }
}
