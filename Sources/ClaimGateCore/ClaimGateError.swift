/// An error from the ClaimGate domain: a stable, comparable `code`, a sentence for people that
/// says what is wrong and what to do, and private diagnostics for the log.
///
/// The `message` never holds document content, claimant personal data or key material.
public struct ClaimGateError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable identifier of the kind of failure, safe to show to partners and scripts. A closed
    /// set: audit entries carry these codes.
    public enum Code: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case invalidAgreement = "invalid-agreement"
        case invalidArgument = "invalid-argument"
        case unknownPartner = "unknown-partner"
        case partnerExists = "partner-exists"
        case policyRefused = "policy-refused"
        case notInitialised = "not-initialised"
        case alreadyInitialised = "already-initialised"
        case unknownBundle = "unknown-bundle"
        case bundleRejected = "bundle-rejected"
        /// An input file named on the command line does not exist, cannot be read, or is not a
        /// regular file (a folder, a named pipe, a device, a socket).
        case unreadableInput = "unreadable-input"
        case io = "io"
        /// The database, and with it the audit trail, cannot be written: the operation was not done.
        case auditUnavailable = "audit-unavailable"
        /// The operator may not take this action (its `refusal` says why: `role-missing`,
        /// `partner-out-of-scope`, `operator-suspended`…). The refusal is recorded.
        case notPermitted = "not-permitted"
        /// No operator of that name.
        case unknownOperator = "unknown-operator"
        /// An operator of that name exists (or existed: names of removed operators stay taken).
        case operatorExists = "operator-exists"
        /// No pending change has that id.
        case unknownChange = "unknown-change"
        /// The pending change's 7 days have passed: it can no longer be approved.
        case changeExpired = "change-expired"
        /// The pending change was approved or withdrawn already.
        case changeNotPending = "change-not-pending"
        /// The partner's agreement changed after the change was proposed against it: propose
        /// it again against the agreement in force.
        case changeOutdated = "change-outdated"
        /// The bundle has no push delivery (its partner pulls).
        case unknownDelivery = "unknown-delivery"
        /// The push delivery was delivered or cancelled already: it cannot be retried or cancelled.
        case deliverySettled = "delivery-settled"

        public var name: String { rawValue }
        public var description: String { rawValue }

        /// The command line's exit status for this code (sysexits-like): 64 bad usage, 65 refused
        /// by policy, a rejected bundle, a pending change expired, settled or outdated, or a delivery
        /// settled, 66 unknown partner/bundle/operator/change/delivery or an input that
        /// cannot be read, 73 cannot create, 74 I/O, 77 not permitted, 78 not initialised. The
        /// operator API answers with the same code, so a client derives the same status.
        public var exitStatus: Int32 {
            switch self {
            case .invalidArgument, .invalidAgreement: return 64
            case .policyRefused, .bundleRejected, .changeExpired, .changeNotPending, .changeOutdated, .deliverySettled: return 65
            case .unknownPartner, .unknownBundle, .unknownOperator, .unknownChange, .unknownDelivery, .unreadableInput: return 66
            case .partnerExists, .operatorExists, .alreadyInitialised: return 73
            case .notPermitted: return 77
            case .notInitialised: return 78
            case .io, .auditUnavailable: return 74
            }
        }
    }

    public let code: Code
    /// One sentence: what is wrong and what to do next.
    public let message: String
    /// Internal detail for the log only; never shown to a partner.
    public let diagnostics: String?
    /// For `not-permitted`: the policy's reason code.
    public let refusal: Refusal.Reason?
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, diagnostics: String? = nil, refusal: Refusal.Reason? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
        self.refusal = refusal
        self.file = file
        self.line = line
    }

    public var description: String { message }

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code && a.message == b.message }
    public func hash(into h: inout Hasher) { h.combine(code); h.combine(message) }
}
