/// Why a policy refused: a stable code for reports and metrics, and a sentence for people.
public struct Refusal: Sendable, Hashable, Error, CustomStringConvertible {
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        public let code: String
        public init(_ code: String) { self.code = code }
        public var description: String { code }

        public static let partnerSuspended = Reason("partner-suspended")
        public static let agreementEnded = Reason("agreement-ended")
        public static let purposeNotAllowed = Reason("purpose-not-allowed")
        public static let documentTypeNotAllowed = Reason("document-type-not-allowed")
        public static let expiryInPast = Reason("expiry-in-past")
        public static let expiryBeyondRetention = Reason("expiry-beyond-retention")
        public static let expiryBeyondAgreement = Reason("expiry-beyond-agreement")
        public static let certificateNotValid = Reason("certificate-not-valid")
        public static let bundleExpired = Reason("bundle-expired")
        public static let unknownPartner = Reason("unknown-partner")
        public static let unknownKey = Reason("unknown-key")
        public static let pathRefused = Reason("path-refused")
        public static let operationRefused = Reason("operation-refused")
        public static let bundleUnavailable = Reason("bundle-unavailable")
    }

    public let reason: Reason
    public let message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }
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
