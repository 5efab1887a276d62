import Foundation

/// Who did something.
public enum Actor: Sendable, Hashable, CustomStringConvertible {
    case partner(PartnerID)
    case admin(String)
    case system

    public var description: String {
        switch self {
        case .partner(let id): return "partner:\(id)"
        case .admin(let user): return "admin:\(user)"
        case .system: return "system"
        }
    }
}

/// How the event reached the gateway.
public enum Transport: String, Sendable, Codable {
    case cli, sftp, https
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
