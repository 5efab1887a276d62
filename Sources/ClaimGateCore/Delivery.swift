import Foundation

/// The state of one push delivery.
public enum DeliveryState: String, Sendable, Codable, CaseIterable {
    /// Waiting for its first or next attempt.
    case pending
    case delivered
    /// Gave up after the retry policy's last attempt, or a failure retrying cannot fix.
    case failed
    /// The bundle was recalled or expired before it could be delivered.
    case cancelled
}

/// A bundle the gateway pushes to a partner's server. Persisted, so a restart resumes.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var bundleID: BundleID
    public var partnerID: PartnerID
    /// `sftp` or `https`
    public var transport: Transport
    /// Where it goes, e.g. `sftp://claimgate@sftp.acme.example:22/inbound`.
    public var target: String
    public var state: DeliveryState
    public var attempts: Int
    public var lastAttemptAt: Date?
    public var lastErrorCode: String?
    public var lastError: String?
    public var deliveredAt: Date?
    public var created: Date

    public init(id: Int64 = 0, bundleID: BundleID, partnerID: PartnerID, transport: Transport, target: String,
                state: DeliveryState = .pending, attempts: Int = 0, lastAttemptAt: Date? = nil, lastErrorCode: String? = nil,
                lastError: String? = nil, deliveredAt: Date? = nil, created: Date) {
        self.id = id; self.bundleID = bundleID; self.partnerID = partnerID; self.transport = transport
        self.target = target; self.state = state; self.attempts = attempts; self.lastAttemptAt = lastAttemptAt
        self.lastErrorCode = lastErrorCode; self.lastError = lastError; self.deliveredAt = deliveredAt; self.created = created
    }
}

/// When to try a failed delivery again: exponential backoff from `base`, capped at `maximum`,
/// giving up after `maxAttempts`.
public struct RetryPolicy: Sendable, Equatable {
    public var base: TimeInterval
    public var maximum: TimeInterval
    public var maxAttempts: Int

    public init(base: TimeInterval = 30, maximum: TimeInterval = 3600, maxAttempts: Int = 20) {
        self.base = base; self.maximum = maximum; self.maxAttempts = maxAttempts
    }

    /// The earliest time of the next attempt after `attempts` failed ones, the last at `last`.
    public func nextAttempt(after attempts: Int, last: Date) -> Date {
        let exponent = Double(max(0, attempts - 1))
        return last.addingTimeInterval(min(maximum, base * pow(2, min(exponent, 30))))
    }

    /// Whether a pending delivery is due at `now`.
    public func isDue(_ d: Delivery, now: Date) -> Bool {
        guard d.state == .pending else { return false }
        guard let last = d.lastAttemptAt else { return true }
        return now >= nextAttempt(after: d.attempts, last: last)
    }
}

/// Why one push attempt failed. Shared by every push transport so the delivery queue treats them
/// alike: `hostKeyMismatch`, `serverNotTrusted`, `verification` and `rejected` need an admin and
/// are not retried; the others are.
public struct PushError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case connect = "connect-failed"
        case hostKeyMismatch = "host-key-mismatch"
        /// The partner's HTTPS server certificate does not chain to its trust anchor or does not
        /// name the host in the URL.
        case serverNotTrusted = "server-not-trusted"
        case authentication = "authentication-failed"
        case transfer = "transfer-failed"
        case verification = "verification-failed"
        /// The partner's server answered with a status that retrying cannot change (4xx).
        case rejected = "rejected"
        /// The agreement no longer names a target for this transport: the delivery is cancelled.
        case noTarget = "no-push-target"
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }

    /// Whether trying again later may succeed.
    public var isRetryable: Bool {
        switch code {
        case .hostKeyMismatch, .serverNotTrusted, .verification, .rejected, .noTarget: return false
        case .connect, .authentication, .transfer: return true
        }
    }
}
