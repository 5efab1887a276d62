/// Why an event came out as it did: a code from a closed set, and what the event concerned (the
/// path or bundle a partner asked for, the user name a client tried, an operator's note, what an
/// agreement change changed). Reports, metrics and flags read the code and the subject as
/// columns; nothing parses the text.
///
/// The subject never holds document content, metadata values or key material.
public struct EventReason: Sendable, Hashable, CustomStringConvertible {
    public let code: Code
    public let subject: String?
    /// The reason as the audit entry records (and hashes) it: `code`, `code: subject`, or, for
    /// the codes that only label a person's words (`operator-note`, `agreement-changed`,
    /// `report-rejected`), the subject alone. Entries recorded before codes were columns keep
    /// their text as it was.
    public let text: String

    /// A new reason; its text is the canonical form.
    public init(_ code: Code, _ subject: String? = nil) {
        let s = subject.map(Self.bounded)
        self.code = code
        self.subject = s
        if let s, code.labelsWords { text = s } else { text = s.map { "\(code.rawValue): \($0)" } ?? code.rawValue }
    }

    /// A reason as stored: its recorded text with the code and subject kept beside it.
    public init(recorded text: String, code: Code, subject: String?) {
        self.code = code; self.subject = subject; self.text = text
    }

    public init(_ refusal: Refusal.Reason, _ subject: String? = nil) { self.init(Code(refusal), subject) }
    public init(_ note: Code.Note, _ subject: String? = nil) { self.init(Code(note), subject) }

    public var description: String { text }

    /// Subjects are cut to this many characters.
    public static let maxSubject = 200

    /// A subject as the audit trail keeps it. Subjects are often a partner's words (a path it
    /// asked for, a user name it tried), so control characters, DEL, C1 controls and the
    /// invisible text-direction marks are written as `\u{XX}` (a crafted path cannot forge a
    /// line in a terminal or a report, or reorder what a reviewer reads), a backslash as `\\`,
    /// and the result is cut to `maxSubject` characters without splitting an escape.
    public static func bounded(_ subject: String) -> String {
        var out = ""
        var count = 0
        for scalar in subject.unicodeScalars {
            let piece: String
            switch scalar.value {
            case 0x5C: piece = "\\\\"
            case 0..<0x20, 0x7F...0x9F, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF:
                piece = "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: piece = String(scalar)
            }
            guard count + piece.count <= maxSubject else { break }
            out += piece
            count += piece.count
        }
        return out
    }

    /// The code and subject of a reason text recorded before they were columns, by the forms the
    /// gateway wrote: `code`, `code: subject`, `code (user 'name')`, and free text for an
    /// operator's note, an agreement change or a quarantine. Used by the migration that fills
    /// the columns; the text itself is kept as it was, so the chain still verifies.
    public static func parse(recorded text: String, action: String) -> EventReason {
        func make(_ code: Code, _ subject: String?) -> EventReason { EventReason(recorded: text, code: code, subject: subject) }
        switch action {
        case "partner-updated": return make(Code(.agreementChanged), text)
        case "partner-suspended", "partner-resumed", "partner-removed", "recall", "delivery-cancelled": return make(Code(.operatorNote), text)
        case "inbound-quarantined": return make(Code(.reportRejected), text)
        default: break
        }
        if text.hasSuffix("')"), let open = text.range(of: " (user '"), let code = Code(rawValue: String(text[..<open.lowerBound])) {
            return make(code, String(text[open.upperBound...].dropLast(2)))
        }
        if let colon = text.range(of: ": "), let code = Code(rawValue: String(text[..<colon.lowerBound])) {
            return make(code, String(text[colon.upperBound...]))
        }
        if let code = Code(rawValue: text) { return make(code, nil) }
        // Legacy spellings: the size refusal was `too-large`.
        if text.hasPrefix("too-large: ") { return make(Code(.uploadTooLarge), String(text.dropFirst(11))) }
        if let old = Code.legacyBundleStates[text] { return make(old, nil) }
        return make(Code(.unclassified), text)
    }

    /// A reason code. The set is closed: every code is a refusal reason, a push error, a
    /// gateway error or one of the notes below, so reports and metrics can list them all.
    public struct Code: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
        public let rawValue: String

        /// Codes for what is neither a refusal reason nor an error.
        public enum Note: String, Sendable, CaseIterable {
            /// A download resumed at an offset.
            case resume
            /// An upload whose connection or body ended before it was closed.
            case interrupted
            /// An upload that could not be stored.
            case storeFailed = "store-failed"
            /// An SSH connection that never offered a key.
            case noKey = "no-key"
            /// Refused SFTP logins past the throttle, counted in one entry.
            case loginFlood = "login-flood"
            /// A TLS handshake whose client certificate no partner in force accepts.
            case untrustedClientCertificate = "untrusted-client-certificate"
            /// `audit export`.
            case export
            /// The audit key was created.
            case auditKey = "audit-key"
            /// A purge: bundles `expired` or `recalled`, inbound reports past `inbound-retention`.
            case expired, recalled
            case inboundRetention = "inbound-retention"
            /// An inbound report refused by its checks (the subject says which).
            case reportRejected = "report-rejected"
            /// A new agreement version (the subject lists what changed).
            case agreementChanged = "agreement-changed"
            /// An operator's own words (recall, suspend, resume, remove, a cancelled delivery).
            case operatorNote = "operator-note"
            /// A push whose bundle or partner no longer exists (the delivery is cancelled).
            case unknownBundleOrPartner = "unknown-bundle-or-partner"
            /// A change to an operator (the subject names it and what changed).
            case operatorChange = "operator-change"
            /// The operator CA was created.
            case operatorCA = "operator-ca"
            /// A pending change proposed, approved, withdrawn or expired (the subject names it:
            /// id, action, target, and who proposed it).
            case pendingChange = "pending-change"
            /// A reason recorded before codes were columns that fits no known form.
            case unclassified
        }

        public init?(rawValue: String) {
            guard Self.all.contains(rawValue) else { return nil }
            self.rawValue = rawValue
        }
        public init(_ r: Refusal.Reason) { rawValue = r.rawValue }
        public init(_ n: Note) { rawValue = n.rawValue }
        public init(_ e: ClaimGateError.Code) { rawValue = e.rawValue }
        public init(_ p: PushError.Code) { rawValue = p.rawValue }

        /// Whether the text of a reason with this code is its subject alone (a person's words).
        var labelsWords: Bool { [Note.agreementChanged, .operatorNote, .reportRejected].map(\.rawValue).contains(rawValue) }

        /// Every code there is.
        public static let all: Set<String> = Set(Refusal.Reason.allCases.map(\.rawValue) + Note.allCases.map(\.rawValue)
                                                 + ClaimGateError.Code.allCases.map(\.rawValue) + PushError.Code.allCases.map(\.rawValue))

        /// Refusals recorded as `bundle-<state>` before they were `bundle-unavailable`.
        static let legacyBundleStates: [String: Code] = Dictionary(uniqueKeysWithValues:
            ["bundle-sealed", "bundle-recalled", "bundle-purged", "bundle-queued"].map { ($0, Code(.bundleUnavailable)) })

        public var description: String { rawValue }
        public static func < (a: Code, b: Code) -> Bool { a.rawValue < b.rawValue }
    }
}
