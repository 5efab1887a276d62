import Foundation

/// Who runs a singleton job until when (`GatewayStore.takeLease`). `fence` grows by one at every
/// change of holder: a write made under a lease checks it (`LeaseLost`), so a node that stalled
/// past its lease cannot record over the node that took the job over.
public struct JobLease: Sendable, Equatable {
    public let job: String
    /// The node: `<host>/<pid>/<random>`.
    public let holder: String
    public let fence: Int64
    public let expires: Date

    public init(job: String, holder: String, fence: Int64, expires: Date) {
        self.job = job
        self.holder = holder
        self.fence = fence
        self.expires = expires
    }
}
