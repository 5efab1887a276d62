import Foundation

/// A file a partner uploaded to its inbox, after the gateway processed it.
public struct InboundReport: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Verified, decrypted and checked; its documents are available to claims operations.
        case accepted
        /// Refused; kept aside with the reason, never visible as documents.
        case quarantined
        /// Its documents were destroyed once the inbound retention period had passed (`purge`).
        case purged
    }

    public var id: UUID
    public var partnerID: PartnerID
    /// The name it was uploaded under.
    public var fileName: String
    public var received: Date
    public var bytes: Int64
    public var state: State
    /// Why it was quarantined.
    public var reason: String?
    public var transport: Transport
    /// From the manifest, when it could be read.
    public var bundleID: BundleID?
    public var claimID: String?
    public var purpose: String?
    public var manifestJSON: Data?
    /// The folder holding the report (accepted: `documents/`, `manifest.json`, `report.p7m`;
    /// quarantined: the file as uploaded).
    public var storedPath: String

    public init(id: UUID, partnerID: PartnerID, fileName: String, received: Date, bytes: Int64, state: State,
                reason: String? = nil, transport: Transport, bundleID: BundleID? = nil, claimID: String? = nil,
                purpose: String? = nil, manifestJSON: Data? = nil, storedPath: String) {
        self.id = id; self.partnerID = partnerID; self.fileName = fileName; self.received = received; self.bytes = bytes
        self.state = state; self.reason = reason; self.transport = transport; self.bundleID = bundleID
        self.claimID = claimID; self.purpose = purpose; self.manifestJSON = manifestJSON; self.storedPath = storedPath
    }
}
