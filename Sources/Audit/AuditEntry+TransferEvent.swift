import ClaimGateCore
import Foundation

extension AuditEntry {
    /// The content of an entry for `event`, not yet numbered or hashed: append it with
    /// `AuditChain.append(_:)`.
    ///
    /// Text forms: `time` by `AuditTime.format`, `actor` as `partner:<id>`, `admin:<user>` or
    /// `system`, `action`, `outcome` and `transport` as their raw values, `bundleID` as lowercase
    /// UUID text.
    /// - Parameter event: what happened.
    public init(event: TransferEvent) {
        self.init(time: AuditTime.format(event.time), actor: event.actor.description,
                  action: event.action.rawValue, outcome: event.outcome.rawValue,
                  partnerID: event.partnerID?.rawValue, claimID: event.claimID,
                  bundleID: event.bundleID?.description, purpose: event.purpose,
                  documentDigests: event.documentDigests, bytes: event.bytes, reason: event.reason?.text,
                  transport: event.transport.rawValue, clientAddress: event.clientAddress)
    }
}
