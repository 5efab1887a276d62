import Foundation

/// The life of a bundle, from sealing to purge.
public enum BundleState: String, Sendable, Codable, CaseIterable {
    /// Sealed to a file given by `--out`; the gateway does not deliver it.
    case sealed
    /// Sealed into the partner's outbox, waiting to be delivered or pulled.
    case queued
    case delivered
    case downloaded
    case acknowledged
    case expired
    case recalled
    case purged
}

/// What the gateway keeps about one sealed bundle.
public struct BundleRecord: Sendable, Equatable {
    public var id: UUID
    public var partnerID: PartnerID
    public var claimID: String
    public var purpose: String
    public var state: BundleState
    public var created: Date
    public var expires: Date
    /// The manifest exactly as sealed (masked values stay masked).
    public var manifestJSON: Data
    /// SHA-256 (hex) of `manifestJSON`.
    public var manifestSHA256: String
    /// Absolute path of the sealed file.
    public var filePath: String
    public var fileSize: Int64
    public var agreementVersion: Int

    public init(id: UUID, partnerID: PartnerID, claimID: String, purpose: String, state: BundleState,
                created: Date, expires: Date, manifestJSON: Data, manifestSHA256: String,
                filePath: String, fileSize: Int64, agreementVersion: Int) {
        self.id = id; self.partnerID = partnerID; self.claimID = claimID; self.purpose = purpose
        self.state = state; self.created = created; self.expires = expires
        self.manifestJSON = manifestJSON; self.manifestSHA256 = manifestSHA256
        self.filePath = filePath; self.fileSize = fileSize; self.agreementVersion = agreementVersion
    }
}
