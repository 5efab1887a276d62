/// Why a policy refused: a stable code for reports and metrics, and a sentence for people.
public struct Refusal: Sendable, Hashable, Error, CustomStringConvertible {
    /// The closed set of reasons a policy, a session rule or a transport refuses for. The code is
    /// what the audit trail, reports and metrics carry; the sentence is for people.
    public enum Reason: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        // The partner and its agreement.
        case partnerSuspended = "partner-suspended"
        case partnerRemoved = "partner-removed"
        case agreementEnded = "agreement-ended"
        case unknownPartner = "unknown-partner"
        // Sealing and access under the agreement.
        case purposeNotAllowed = "purpose-not-allowed"
        case documentTypeNotAllowed = "document-type-not-allowed"
        case expiryInPast = "expiry-in-past"
        case expiryBeyondRetention = "expiry-beyond-retention"
        case expiryBeyondAgreement = "expiry-beyond-agreement"
        case certificateNotValid = "certificate-not-valid"
        // Credentials.
        /// The SSH key or client certificate is not (or no longer) one the agreement lists.
        case unknownKey = "unknown-key"
        /// The client certificate chains to several partners' anchors and no pin tells them apart.
        case certificateAmbiguous = "certificate-ambiguous"
        /// The client certificate is not meant for TLS client authentication.
        case certificateNotForClients = "certificate-not-for-clients"
        /// The client or signer certificate is listed in its CA's CRL.
        case certificateRevoked = "certificate-revoked"
        /// The partner's CRL is past its nextUpdate: what it covers is refused until a current one
        /// is loaded with `partner update` (fail closed).
        case crlExpired = "crl-expired"
        /// The partner's CRL cannot be used for this certificate (none for its CA, not yet valid).
        case crlUnusable = "crl-unusable"
        /// The agreement does not (or no longer) list this transport under `delivery.pull`.
        case transportNotAllowed = "transport-not-allowed"
        // Requests.
        case pathRefused = "path-refused"
        case operationRefused = "operation-refused"
        case bundleUnavailable = "bundle-unavailable"
        case bundleExpired = "bundle-expired"
        /// An upload over the gateway's size limit.
        case uploadTooLarge = "upload-too-large"
        /// A receipt that does not hold a SHA-256 in hex.
        case malformedReceipt = "malformed-receipt"
        /// A receipt whose SHA-256 is not the bundle file's.
        case digestMismatch = "digest-mismatch"
        /// The gateway cannot record the request, so it is not served (fail closed).
        case auditUnavailable = "audit-unavailable"
        // Operators (`OperatorPolicy`).
        /// No operator of that name exists.
        case unknownOperator = "unknown-operator"
        case operatorSuspended = "operator-suspended"
        case operatorRemoved = "operator-removed"
        /// The certificate presented is not the operator's certificate on record.
        case operatorCertificateMismatch = "operator-certificate-mismatch"
        /// None of the operator's roles (with its grants) allows the action.
        case roleMissing = "role-missing"
        /// The operator is scoped to other partners (or the action concerns every partner).
        case partnerOutOfScope = "partner-out-of-scope"
        // Four eyes (`FourEyes`).
        /// The operator who proposed a pending change asked to approve it: a different operator
        /// with the same role must.
        case selfApproval = "self-approval"
        /// Only the operator who proposed a pending change (or the shell) may withdraw it.
        case notProposer = "not-proposer"
        // The web console.
        /// A sign-in with a wrong name, password or code, or for an operator with no console
        /// password or TOTP yet (one reason for all, so a refusal tells nothing of which).
        case loginFailed = "login-failed"
        /// Five failed sign-ins or codes in a row: the operator is locked for 15 minutes.
        case operatorLocked = "operator-locked"
        /// Too many failed sign-ins from one address in a minute: refused before any check.
        case loginThrottled = "login-throttled"
        /// A wrong TOTP code where a sensitive action asks for it again.
        case totpInvalid = "totp-invalid"
        /// A form posted without the session's CSRF token, or with another.
        case csrfRefused = "csrf-refused"
        /// A form posted from another origin (or with no `Origin`).
        case foreignOrigin = "foreign-origin"

        public var code: String { rawValue }
        public var description: String { rawValue }
    }

    public let reason: Reason
    public let message: String
    /// The partner refused, when the refusal is of a known partner (suspended, removed, its key
    /// withdrawn, its certificate revoked): the audit entry is then attributed to it.
    public var partner: PartnerID?

    public init(_ reason: Reason, _ message: String, partner: PartnerID? = nil) {
        self.reason = reason
        self.message = message
        self.partner = partner
    }

    /// The same refusal, attributed to `partner`.
    public func of(_ partner: PartnerID?) -> Refusal { Refusal(reason, message, partner: partner) }
    public var description: String { message }
}

/// The outcome of one policy check.
public enum PolicyResult: Sendable, Hashable {
    case meets
    case fails(Refusal)
}

/// A check that a subject meets or fails. Policies are small values; compose them with
/// `AllOf`, which reports the first failure.
public protocol Policy<Subject>: Sendable {
    associatedtype Subject
    func evaluate(_ subject: Subject) -> PolicyResult
}

/// Meets when every policy meets; otherwise the first failure, in order.
public struct AllOf<Subject>: Policy {
    public let policies: [any Policy<Subject>]

    public init(_ policies: [any Policy<Subject>]) { self.policies = policies }

    public func evaluate(_ subject: Subject) -> PolicyResult {
        for p in policies {
            if case .fails(let r) = p.evaluate(subject) { return .fails(r) }
        }
        return .meets
    }
}

/// Applies a policy to one part of a larger subject, e.g. the partner of a seal request.
public struct Focus<Whole, Part>: Policy {
    public let part: KeyPath<Whole, Part> & Sendable
    public let policy: any Policy<Part>

    public init(_ part: KeyPath<Whole, Part> & Sendable, _ policy: any Policy<Part>) {
        self.part = part
        self.policy = policy
    }

    public func evaluate(_ subject: Whole) -> PolicyResult { policy.evaluate(subject[keyPath: part]) }
}
