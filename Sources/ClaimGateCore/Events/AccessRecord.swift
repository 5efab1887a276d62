import Foundation

/// One partner request as the access log and the latency histogram see it: who (partner, client
/// address), what (operation, bundle), how much, how it ended, and how long it took. Front ends
/// report one per HTTPS request and per SFTP file operation (a listing, a download or an upload
/// from open to close, a refused request); the exchange logs it and counts it. Never holds
/// document content, metadata values or key material: a path a partner asked for appears only
/// in the audit trail's escaped subject, not here.
public struct AccessRecord: Sendable, Equatable {
    /// A closed set: it labels the latency histogram.
    public enum Operation: String, Sendable, CaseIterable {
        case login, list, download, upload, receipt
        /// Anything else a partner asked for (a stat, a rename, an unknown route), or a
        /// request refused before it could be told apart.
        case other
    }

    public var transport: Transport
    public var partner: PartnerID?
    public var clientAddress: String
    public var operation: Operation
    /// The protocol's own name for the request (`GET /v1/bundles`, `open`, `remove`), for the log.
    public var request: String
    public var bundleID: BundleID?
    public var bytes: Int64
    /// How it ended: the HTTP status (`200`, `403`), or for SFTP `ok`, `partial` (a download
    /// that did not read the whole file), `failed`, or the refusal's code.
    public var status: String
    public var duration: Duration

    public init(transport: Transport, partner: PartnerID?, clientAddress: String, operation: Operation, request: String,
                bundleID: BundleID? = nil, bytes: Int64 = 0, status: String, duration: Duration) {
        self.transport = transport; self.partner = partner; self.clientAddress = clientAddress
        self.operation = operation; self.request = request; self.bundleID = bundleID; self.bytes = bytes
        self.status = status; self.duration = duration
    }

    /// The duration in seconds, as logs and metrics print it.
    public var seconds: Double {
        let c = duration.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
