import Foundation

/// Who did something, as the audit trail names it (the entry's `actor` text, which the entry
/// hash covers):
///
/// - `partner:<id>`
/// - `local:uid=<uid>(<name>)` (or `local:uid=<uid>` for an account without a name): the
///   shell, by the process's real user id
/// - `operator:<name>;sha256=<fingerprint>`: an operator and the SHA-256 (lowercase hex) of
///   the client certificate it acted with
/// - `operator:<name>;session=<reference>`: an operator acting through the web console, signed
///   in with its password and TOTP; the reference (16 hex) names the console session
/// - `system`, or `system:<job>` for a scheduled job of `serve` (`system:purge`)
/// - `admin:<user>`: the shell before operators (named by `$USER`); still read, never written
public enum Actor: Sendable, Hashable, CustomStringConvertible {
    case partner(PartnerID)
    case local(uid: UInt32, name: String?)
    case `operator`(OperatorID, fingerprint: String)
    /// An operator signed in to the web console, and the session's public reference.
    case consoleOperator(OperatorID, session: String)
    case system
    case scheduled(ScheduledJob)
    /// Recorded before operators existed; kept so that old entries read as what they are.
    case admin(String)

    public var description: String {
        switch self {
        case .partner(let id): return "partner:\(id)"
        case .local(let uid, let name): return "local:uid=\(uid)" + (name.map { "(\($0))" } ?? "")
        case .operator(let id, let fingerprint): return "operator:\(id);sha256=\(fingerprint)"
        case .consoleOperator(let id, let session): return "operator:\(id);session=\(session)"
        case .system: return "system"
        case .scheduled(let job): return "system:\(job.rawValue)"
        case .admin(let user): return "admin:\(user)"
        }
    }

    /// The actor an entry records, from its text; nil for text no gateway writes.
    public init?(recorded text: String) {
        if text == "system" { self = .system; return }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let kind = text[..<colon], rest = String(text[text.index(after: colon)...])
        switch kind {
        case "partner":
            guard let id = try? PartnerID(stored: rest) else { return nil }
            self = .partner(id)
        case "admin":
            self = .admin(rest)
        case "system":
            guard let job = ScheduledJob(rawValue: rest) else { return nil }
            self = .scheduled(job)
        case "operator":
            if let semi = rest.range(of: ";session="), let id = try? OperatorID(String(rest[..<semi.lowerBound])) {
                self = .consoleOperator(id, session: String(rest[semi.upperBound...]))
                return
            }
            guard let semi = rest.range(of: ";sha256="), let id = try? OperatorID(String(rest[..<semi.lowerBound])) else { return nil }
            self = .operator(id, fingerprint: String(rest[semi.upperBound...]))
        case "local":
            guard rest.hasPrefix("uid=") else { return nil }
            let body = rest.dropFirst(4)
            if let open = body.firstIndex(of: "("), body.hasSuffix(")"), let uid = UInt32(body[..<open]) {
                self = .local(uid: uid, name: String(body[body.index(after: open)..<body.index(before: body.endIndex)]))
            } else if let uid = UInt32(body) {
                self = .local(uid: uid, name: nil)
            } else {
                return nil
            }
        default:
            return nil
        }
    }
}

/// How the event reached the gateway.
public enum Transport: String, Sendable, Codable {
    case cli, sftp, https
    /// An operator's request through the operator API (`serve --operator-api`).
    case operatorAPI = "operator-api"
    /// An operator's request through the web console (`serve --console`).
    case console
}

/// One thing that happened to a partner, a bundle or the gateway. Every transport records through
/// the same `EventRecorder`. No field ever holds document content or unmasked personal data.
public struct TransferEvent: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
        case seal, sealRefused = "seal-refused", queue
        case partnerOnboarded = "partner-onboarded", partnerUpdated = "partner-updated"
        case partnerRefused = "partner-refused"
        case gatewayInitialised = "gateway-initialised"
        /// A partner session: authenticated, or refused.
        case login, loginRefused = "login-refused"
        /// A partner listed its outbox.
        case listing
        /// A partner read a bundle (`bytes` served; outcome success when the whole file was read).
        case download
        /// A partner uploaded a file.
        case upload
        /// A partner asked for something it may not do (path escape, write to the outbox, shell…).
        case accessRefused = "access-refused"
        /// One attempt to push a bundle to a partner's server (success, or failed with a reason).
        case delivery
        /// An operator asked for a push delivery to be tried again at once (`deliveries retry`),
        /// or cancelled it (`deliveries cancel`, its words as `operator-note`), or was refused
        /// either (`delivery-refused`: the error code, and `delivery-retry` or `delivery-cancel`).
        case deliveryRetried = "delivery-retried", deliveryCancelled = "delivery-cancelled"
        case deliveryRefused = "delivery-refused"
        /// A partner acknowledged a bundle with the digest of what it received (or a wrong one).
        case receipt
        /// A partner's upload was verified and its documents stored, or quarantined.
        case inboundAccepted = "inbound-accepted", inboundQuarantined = "inbound-quarantined"
        /// An operator copied an accepted report's documents out of the gateway (`inbox export`).
        case inboundExported = "inbound-exported"
        /// Partner lifecycle, by an admin (`reason` holds the admin's reason, if given).
        case partnerSuspended = "partner-suspended", partnerResumed = "partner-resumed", partnerRemoved = "partner-removed"
        /// An admin withdrew a bundle: it is neither listed nor served from then on.
        case recall
        /// A bundle's file (or an inbound report's documents) was destroyed; `documentDigests`
        /// holds the SHA-256 of the destroyed file.
        case purge
        /// A gateway key was created or replaced (`reason` names which: `audit-key`, …).
        case keyCreated = "key-created"
        /// An admin read or exported the audit trail (`audit export`).
        case auditExported = "audit-exported"
        /// Operators: added (with a certificate from the operator CA), suspended, resumed,
        /// removed, given or withdrawn a role or grant (`reason`: `operator-change: <name> …`).
        case operatorAdded = "operator-added", operatorSuspended = "operator-suspended"
        case operatorResumed = "operator-resumed", operatorRemoved = "operator-removed"
        case operatorGranted = "operator-granted", operatorRevoked = "operator-revoked"
        /// An operator asked for an action it may not take (`reason`: `role-missing`,
        /// `partner-out-of-scope`, `operator-suspended`…, with the action as subject).
        case operatorRefused = "operator-refused"
        /// The web console: an operator signed in (password and TOTP), was refused at sign-in
        /// (`reason`: `login-failed`, `operator-locked`…), or signed out; a security officer or
        /// the shell set an operator's console password or enrolled its TOTP.
        case consoleLogin = "console-login", consoleLoginRefused = "console-login-refused"
        case consoleLogout = "console-logout"
        case operatorPasswordSet = "operator-password-set", operatorTOTPEnrolled = "operator-totp-enrolled"
        /// Four eyes: a change waiting for a second operator was proposed, approved (the change's
        /// own entry follows in the same transaction), refused (an approval that failed its
        /// checks), withdrawn by its proposer, or expired after 7 days (`reason`:
        /// `pending-change: <id> <action> <target> …`, or the refusal's code).
        case changeProposed = "change-proposed", changeApproved = "change-approved", changeRefused = "change-refused"
        case changeWithdrawn = "change-withdrawn", changeExpired = "change-expired"
    }
    public enum Outcome: String, Sendable, Codable {
        case success, refused, failed
        /// A download that ended before the whole file was read.
        case partial
        /// A download about to serve its first byte (the matching success or partial entry
        /// follows when it ends); recorded first so nothing is served unrecorded.
        case started
    }

    public var time: Date
    public var actor: Actor
    public var action: Action
    public var outcome: Outcome
    public var partnerID: PartnerID?
    public var claimID: String?
    public var bundleID: BundleID?
    public var purpose: String?
    /// SHA-256 (hex) of each document involved.
    public var documentDigests: [String]
    public var bytes: Int64?
    /// Why it came out as it did: a closed code and what it concerned (columns in the store).
    public var reason: EventReason?
    public var transport: Transport
    public var clientAddress: String?

    public init(time: Date, actor: Actor, action: Action, outcome: Outcome, partnerID: PartnerID? = nil,
                claimID: String? = nil, bundleID: BundleID? = nil, purpose: String? = nil,
                documentDigests: [String] = [], bytes: Int64? = nil, reason: EventReason? = nil,
                transport: Transport, clientAddress: String? = nil) {
        self.time = time; self.actor = actor; self.action = action; self.outcome = outcome
        self.partnerID = partnerID; self.claimID = claimID; self.bundleID = bundleID
        self.purpose = purpose; self.documentDigests = documentDigests; self.bytes = bytes
        self.reason = reason; self.transport = transport; self.clientAddress = clientAddress
    }
}

/// Records events durably. An operation is acknowledged only after its event is recorded.
public protocol EventRecorder: Sendable {
    func record(_ event: TransferEvent) throws
}
