import ClaimGateCore
import Foundation

extension FakeExchange {
    /// One call a front end made on the exchange, as a test checks it.
    public enum Call: Sendable, Equatable {
        case openSession(PartnerCredential, transport: Transport)
        case revalidate(PartnerID, transport: Transport)
        /// The handshake-time check of a TLS client's chain, and its answer.
        case acceptsClientCertificate(chainLength: Int, accepted: Bool)
        case recordLogin(PartnerID, transport: Transport)
        case listOutbox(PartnerID)
        case bundle(BundleID, PartnerID)
        case fileDigest(BundleID)
        case startDownload(BundleID, PartnerID, DownloadDecision)
        case downloadEnded(BundleID, PartnerID, bytes: Int64, complete: Bool)
        case acknowledge(BundleID, sha256: String, PartnerID, ReceiptOutcome)
        case uploads(PartnerID)
        case beginUpload(String, PartnerID)
        case uploadWrite(String, offset: Int64, count: Int)
        case uploadSync(String)
        case uploadCommitted(String, bytes: Int64)
        case uploadDiscarded(String, interrupted: Bool)
        /// A write past `maxUploadBytes`: refused, and every later write too.
        case uploadTooLarge(String, bytes: Int64)
        case refused(Refused)
        /// An event given to `record(_:)`: its action, reason code and transport.
        case record(TransferEvent.Action, EventReason.Code?, transport: Transport)
    }

    /// What `startDownload` decided.
    public enum DownloadDecision: Sendable, Equatable {
        case unavailable
        case unsatisfiable
        case started(offset: Int64)
    }

    /// A refusal the front end recorded through `refused(...)`.
    public struct Refused: Sendable, Equatable, CustomStringConvertible {
        public var reason: Refusal.Reason
        public var subject: String?
        public var action: TransferEvent.Action
        public var partner: PartnerID?
        public var origin: SessionOrigin

        public var description: String { "\(action.rawValue) \(reason)\(subject.map { ": \($0)" } ?? "") (\(partner?.description ?? "-"))" }
    }
}

extension FakeExchange.Call {
    /// The refusal, when this call is one.
    public var refused: FakeExchange.Refused? { if case .refused(let r) = self { r } else { nil } }

    /// Whether this is a `revalidate` call.
    public var isRevalidate: Bool { if case .revalidate = self { true } else { false } }

    /// The end of a download, when this call is one.
    public var downloadEnd: (bundle: BundleID, bytes: Int64, complete: Bool)? {
        if case .downloadEnded(let id, _, let bytes, let complete) = self { (id, bytes, complete) } else { nil }
    }
}
