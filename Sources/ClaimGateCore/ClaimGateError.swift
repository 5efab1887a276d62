/// An error from the ClaimGate domain: a stable, comparable `code`, a sentence for people that
/// says what is wrong and what to do, and private diagnostics for the log.
///
/// The `message` never holds document content, claimant personal data or key material.
public struct ClaimGateError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifier of the kind of failure, safe to show to partners and scripts.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let invalidAgreement = Code("invalid-agreement")
        public static let invalidArgument = Code("invalid-argument")
        public static let unknownPartner = Code("unknown-partner")
        public static let partnerExists = Code("partner-exists")
        public static let policyRefused = Code("policy-refused")
        public static let notInitialised = Code("not-initialised")
        public static let alreadyInitialised = Code("already-initialised")
        public static let unknownBundle = Code("unknown-bundle")
        public static let bundleRejected = Code("bundle-rejected")
        public static let io = Code("io")
        /// The database, and with it the audit trail, cannot be written: the operation was not done.
        public static let auditUnavailable = Code("audit-unavailable")
    }

    public let code: Code
    /// One sentence: what is wrong and what to do next.
    public let message: String
    /// Internal detail for the log only; never shown to a partner.
    public let diagnostics: String?
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, diagnostics: String? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
        self.file = file
        self.line = line
    }

    public var description: String { message }

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code && a.message == b.message }
    public func hash(into h: inout Hasher) { h.combine(code); h.combine(message) }
}
