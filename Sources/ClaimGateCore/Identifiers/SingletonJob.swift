/// A job of `serve` that runs on one node at a time when several share a database: the node that
/// holds its lease runs it (`JobLease` in the store), and another takes over when the lease
/// runs out (the holder died or lost the database).
public enum SingletonJob: String, Sendable, Hashable, CaseIterable {
    /// Push deliveries (`DeliveryWorker`).
    case deliveries
    /// Signed audit checkpoints (`AuditCheckpointer`).
    case checkpoints
    /// Destruction of expired and recalled bundles (`PurgeJob`).
    case purge
    /// The daily certificate and CRL warning (`CertificateWatch`).
    case certificateWatch = "certificate-watch"
}
