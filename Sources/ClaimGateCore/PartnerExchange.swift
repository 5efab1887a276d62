import Foundation

/// A bundle as a partner sees it in its outbox.
public struct OutboxEntry: Sendable, Equatable {
    public var bundleID: UUID
    /// `<bundle-id>.p7m`
    public var name: String
    public var size: Int64
    public var created: Date
    public var expires: Date
    public var claimID: String
    public var purpose: String
    /// Where the sealed file is on disk (never shown to the partner).
    public var filePath: String

    public init(bundleID: UUID, size: Int64, created: Date, expires: Date, claimID: String, purpose: String, filePath: String) {
        self.bundleID = bundleID
        self.name = bundleID.uuidString.lowercased() + ".p7m"
        self.size = size; self.created = created; self.expires = expires
        self.claimID = claimID; self.purpose = purpose; self.filePath = filePath
    }
}

/// A file a partner uploaded, as its inbox lists it.
public struct UploadEntry: Sendable, Equatable {
    public var name: String
    public var size: Int64
    public var received: Date
    public init(name: String, size: Int64, received: Date) { self.name = name; self.size = size; self.received = received }
}

/// Where a transport session comes from.
public struct SessionOrigin: Sendable, Equatable {
    public var transport: Transport
    /// `IP:port` of the client.
    public var clientAddress: String
    public init(transport: Transport, clientAddress: String) {
        self.transport = transport; self.clientAddress = clientAddress
    }
}

/// What every transport (SFTP, HTTPS) asks of the gateway. One implementation holds the policy,
/// so no transport has its own copy of the rules; every decision is recorded through it.
public protocol PartnerExchange: Sendable {
    /// Decides whether `partner` may log in with this SSH public key (`TYPE BASE64`). Records
    /// nothing: a client may probe several keys; the transport records the session's outcome.
    func authorize(partner: String, sshKey: String) -> Result<PartnerID, Refusal>

    /// Decides which partner a TLS client certificate (DER) belongs to: it must chain to exactly
    /// one partner's trust anchor, that partner must be allowed to act and list `https` under
    /// `delivery.pull`. Records nothing.
    func identify(clientCertificateDER: [UInt8]) -> Result<PartnerID, Refusal>

    /// Whether a TLS client's certificate chain (DER, leaf first) chains to some partner's trust
    /// anchor as the agreements stand now: the handshake-time check, so an anchor added or removed
    /// while the server runs takes effect without a restart.
    func acceptsClientCertificate(chainDER: [[UInt8]]) -> Bool

    /// SHA-256 (hex) of a bundle's sealed file, as partners see it (ETag, receipts).
    func fileDigest(of entry: OutboxEntry) throws -> String

    /// A partner acknowledges a bundle by the SHA-256 of the file it received.
    /// - Returns: false when the digest is not the bundle's (nothing changes).
    func acknowledge(_ entry: OutboxEntry, partner: PartnerID, sha256: String, origin: SessionOrigin) throws -> Bool

    /// Whether the partner may still act now (not suspended, agreement in force). Transports
    /// call this before every operation of a session that stays open.
    func mayAct(_ partner: PartnerID) -> Result<Void, Refusal>

    /// The partner's bundles that are available now.
    func outbox(of partner: PartnerID) throws -> [OutboxEntry]

    /// One of the partner's bundles, if it is available now.
    func bundle(_ id: UUID, of partner: PartnerID) throws -> OutboxEntry?

    /// Where the partner's uploads go (created on demand).
    func inboxDirectory(of partner: PartnerID) throws -> String

    /// What the partner has uploaded so far, by the names it used. A name is never reused.
    func uploads(of partner: PartnerID) throws -> [UploadEntry]

    /// Records an event that happened on a transport.
    func record(_ event: TransferEvent) throws

    /// A download is about to start at byte `offset`: records it. Throws when the event cannot be
    /// recorded, and then nothing may be served.
    func downloadStarted(_ entry: OutboxEntry, partner: PartnerID, offset: Int64, origin: SessionOrigin) throws

    /// Checks that bundle `id` is available to `partner` now and records the start of its
    /// download, in one durable transaction, so nothing can recall or expire it in between.
    /// `offset` picks where the download starts from the entry (nil: the requested range cannot
    /// be served, and nothing is recorded). An unavailable bundle's refusal is recorded.
    func startDownload(_ id: UUID, of partner: PartnerID, origin: SessionOrigin,
                       offset: @escaping @Sendable (OutboxEntry) -> Int64?) throws -> DownloadStart

    /// A download ended: records it and, when the whole file was read, marks the bundle
    /// downloaded. Does not wait for the commit (its start is already on disk): the entry joins
    /// the next transaction, within milliseconds; a failure to record it is logged.
    func downloadEnded(_ entry: OutboxEntry, partner: PartnerID, bytes: Int64, complete: Bool, origin: SessionOrigin) throws

    /// An upload was committed under `name` in the partner's inbox directory: it is recorded and
    /// processed as an inbound report (accepted or quarantined).
    @discardableResult
    func uploadCompleted(name: String, path: String, bytes: Int64, partner: PartnerID, origin: SessionOrigin) throws -> InboundReport

    /// The largest upload accepted, in bytes.
    var maxUploadBytes: Int64 { get }
}

/// What `PartnerExchange.startDownload` decided.
public enum DownloadStart: Sendable {
    /// Not one of the partner's available bundles (recorded as refused).
    case unavailable
    /// Available, but the requested range is outside the file (nothing recorded).
    case unsatisfiable(OutboxEntry)
    /// Recorded as started at `offset`: the bytes may be served.
    case started(OutboxEntry, offset: Int64)
}

/// Which parts of a file have been served, to tell a complete download from a partial one
/// whatever order the client reads in.
public struct ByteCoverage: Sendable, Equatable {
    /// Disjoint, sorted, non-adjacent half-open ranges.
    public private(set) var ranges: [Range<Int64>] = []
    public init() {}

    public mutating func add(_ r: Range<Int64>) {
        guard !r.isEmpty else { return }
        var merged = r
        var out: [Range<Int64>] = []
        for existing in ranges {
            if existing.upperBound < merged.lowerBound || merged.upperBound < existing.lowerBound {
                out.append(existing)
            } else {
                merged = min(existing.lowerBound, merged.lowerBound)..<max(existing.upperBound, merged.upperBound)
            }
        }
        out.append(merged)
        ranges = out.sorted { $0.lowerBound < $1.lowerBound }
    }

    /// Whether every byte of a file of `size` bytes was served.
    public func covers(size: Int64) -> Bool {
        size == 0 || (ranges.count == 1 && ranges[0].lowerBound == 0 && ranges[0].upperBound >= size)
    }
}
