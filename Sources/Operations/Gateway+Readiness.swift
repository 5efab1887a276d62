import ClaimGateCore
import Foundation

extension Gateway {
    /// Whether the gateway can serve partners now: its database, and with it the audit trail,
    /// takes a write (`GatewayStore.checkWritable`: a write transaction begun and rolled back,
    /// nothing written). What the admin listener's `/readyz` asks, on every request.
    /// - Throws: `ClaimGateError` `audit-unavailable` when it cannot.
    public func checkReady() throws {
        try store.checkWritable()
    }
}
