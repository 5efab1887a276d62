import ClaimGateCore

/// What the exchange hands a committed upload to: verification and storage of an inbound report,
/// or its quarantine. Implemented where reports are opened (the gateway), so the exchange needs
/// no keys and no bundle format.
public protocol InboundProcessing: Sendable {
    /// Processes the upload stored at `path` under the partner's `name`: accepted or quarantined,
    /// either way recorded.
    func processInbound(path: String, name: String, partner: PartnerID, origin: SessionOrigin, maxBytes: Int64) throws -> InboundReport
}
