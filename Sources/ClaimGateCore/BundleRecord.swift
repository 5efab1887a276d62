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
    public var id: BundleID
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
    /// The media types of the bundle's documents (sorted, each once), so that every access can
    /// check them against the agreement as it stands without reading the manifest.
    public var documentTypes: [String]

    /// - Parameter documentTypes: the documents' media types; nil reads them from `manifestJSON`.
    public init(id: BundleID, partnerID: PartnerID, claimID: String, purpose: String, state: BundleState,
                created: Date, expires: Date, manifestJSON: Data, manifestSHA256: String,
                filePath: String, fileSize: Int64, agreementVersion: Int, documentTypes: [String]? = nil) {
        self.id = id; self.partnerID = partnerID; self.claimID = claimID; self.purpose = purpose
        self.state = state; self.created = created; self.expires = expires
        self.manifestJSON = manifestJSON; self.manifestSHA256 = manifestSHA256
        self.filePath = filePath; self.fileSize = fileSize; self.agreementVersion = agreementVersion
        self.documentTypes = documentTypes ?? Self.documentTypes(ofManifest: manifestJSON)
    }

    /// The media types a stored manifest lists (sorted, each once); empty when it cannot be read,
    /// which no agreement allows, so such a bundle is never served (fail closed).
    public static func documentTypes(ofManifest json: Data) -> [String] {
        struct Types: Decodable {
            struct Document: Decodable { let media_type: String }
            let documents: [Document]
        }
        guard let m = try? JSONDecoder().decode(Types.self, from: json) else { return [] }
        return Array(Set(m.documents.map(\.media_type))).sorted()
    }
}
