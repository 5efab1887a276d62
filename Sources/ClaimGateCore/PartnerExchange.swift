import Foundation

/// A bundle as a partner sees it in its outbox.
public struct OutboxEntry: Sendable, Equatable {
    public var bundleID: BundleID
    /// `<bundle-id>.p7m`
    public var name: String
    public var size: Int64
    public var created: Date
    public var expires: Date
    public var claimID: String
    public var purpose: String
    /// Where the sealed file is on disk (never shown to the partner).
    public var filePath: String

    public init(bundleID: BundleID, size: Int64, created: Date, expires: Date, claimID: String, purpose: String, filePath: String) {
        self.bundleID = bundleID
        self.name = bundleID.description + ".p7m"
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
public struct SessionOrigin: Sendable, Hashable {
    public var transport: Transport
    /// `IP:port` of the client.
    public var clientAddress: String
    public init(transport: Transport, clientAddress: String) {
        self.transport = transport; self.clientAddress = clientAddress
    }
}

/// What a partner presents to open a session.
public enum PartnerCredential: Sendable, Hashable {
    /// An SSH public key (`TYPE BASE64`) offered for a user name (the partner id).
    case sshKey(user: String, key: String)
    /// A TLS client certificate (DER).
    case clientCertificate(der: [UInt8])
}

/// One partner's session on one transport, opened from a credential. Every request revalidates
/// it (`PartnerExchange.revalidate`): what the session may do is always what the agreement allows
/// now, never what it allowed at login.
public struct PartnerSession: Sendable, Hashable {
    public let partner: PartnerID
    public let credential: PartnerCredential
    public let origin: SessionOrigin

    public init(partner: PartnerID, credential: PartnerCredential, origin: SessionOrigin) {
        self.partner = partner; self.credential = credential; self.origin = origin
    }
}

/// What a receipt (`POST /v1/bundles/{id}/receipt`, SFTP `/inbox/<id>.receipt`) came to.
public enum ReceiptOutcome: Sendable, Equatable {
    /// The digest is the bundle file's: the bundle is acknowledged.
    case acknowledged(OutboxEntry)
    /// Recorded as refused: not a SHA-256 (`malformed-receipt`), not one of the partner's
    /// available bundles (`bundle-unavailable`), or another file's digest (`digest-mismatch`).
    case refused(Refusal)
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

/// An upload being written to a partner's inbox: an exclusive private file, made durable and
/// visible under its name only by `commit`, so a report is never seen half-written. Blocking:
/// call from a thread that may wait on the disk.
public protocol StagedUpload: AnyObject, Sendable {
    /// The name the partner uploads to.
    var name: String { get }
    /// The end of the furthest byte written so far.
    var bytes: Int64 { get }
    /// Writes `data` at `offset`. Throws a `Refusal` (`upload-too-large`, recorded once; every
    /// later write fails too) past the exchange's limit, and a `ClaimGateError` on I/O failure.
    func write(_ data: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Flushes what was written to the disk (`fsync@openssh.com`).
    func sync() throws
    /// Makes the upload durable and visible under its name (never replacing a file), records it
    /// and processes it: an inbound report, accepted or quarantined, or a receipt. Throws when it
    /// cannot be stored or recorded; then nothing of it is kept and the name may be used again.
    func commit() throws -> InboundReport
    /// Removes what was written, and records why when the partner did not simply give up on a
    /// refused upload (`interrupted`: the connection or body ended before the upload was closed).
    func discard(interrupted: Bool)

    /// Gives the upload another name before it is committed: a client that uploads to a
    /// temporary name renames it when the data is through. Refused (and recorded) when the new
    /// name is taken, as a new upload's would be.
    func rename(to name: String) throws
}

/// What every transport (SFTP, HTTPS) asks of the gateway. One implementation holds the rules, so
/// no transport has its own copy of them; every decision is recorded through it. Transports only
/// translate: a request to a call, a `Refusal` to their wire (one table each).
public protocol PartnerExchange: Sendable {
    /// Opens a session: who the credential belongs to, judged by the session rule as the
    /// agreements stand now (`revalidate`). Records nothing: a client may probe several keys;
    /// the transport records the refusal it ends up with.
    func openSession(_ credential: PartnerCredential, origin: SessionOrigin) -> Result<PartnerSession, Refusal>

    /// The one session rule, run before every request on every transport: the agreement is in
    /// force, the partner is neither suspended nor removed, the credential is still one its
    /// agreement lists and not revoked, and the transport is still under `delivery.pull`.
    /// A transport whose sessions span requests (SFTP) calls it before each; a stateless one
    /// (HTTPS) opens a session per request with `openSession`, which judges by the same rule.
    /// Records nothing (the transport records the refusal with the request it refuses).
    func revalidate(_ session: PartnerSession) -> Result<Void, Refusal>

    /// Whether a TLS client's certificate chain (DER, leaf first) chains to some partner's trust
    /// anchor as the agreements stand now: the handshake-time check, so an anchor added or removed
    /// while the server runs takes effect without a restart.
    func acceptsClientCertificate(chainDER: [[UInt8]]) -> Bool

    /// Records a session's login (SFTP). Throws when it cannot be recorded: then no session.
    func recordLogin(_ session: PartnerSession) throws

    /// The session's bundles that may be listed now: the partner's own, deliverable, not expired,
    /// and within the agreement as it stands (purposes, document types). Records the listing,
    /// and throws when it cannot (nothing is listed unrecorded).
    func listOutbox(_ session: PartnerSession) throws -> [OutboxEntry]

    /// One of the session's bundles, when it may be accessed now. Records nothing.
    func bundle(_ id: BundleID, for session: PartnerSession) throws -> OutboxEntry?

    /// SHA-256 (hex) of a bundle's sealed file, as partners see it (ETag, receipts).
    func fileDigest(of entry: OutboxEntry) throws -> String

    /// Checks that bundle `id` may be accessed by the session now and records the start of its
    /// download, in one durable transaction, so nothing can recall or expire it in between.
    /// `offset` picks where the download starts from the entry (nil: the requested range cannot
    /// be served, and nothing is recorded). An unavailable bundle's refusal is recorded.
    func startDownload(_ id: BundleID, for session: PartnerSession,
                       offset: @escaping @Sendable (OutboxEntry) -> Int64?) throws -> DownloadStart

    /// A download ended: records it and, when every byte of the file has been sent to the
    /// partner (by this download, or by it and the partner's other pieces of the same bundle
    /// within the exchange's grace period: a multi-threaded or ranged fetch), marks the bundle
    /// downloaded. Does not wait for the commit (its start is already on disk): the entry joins
    /// the next transaction, within milliseconds; a failure to record it is logged.
    /// - Parameters:
    ///   - served: the byte ranges of the file this download sent.
    ///   - bytes: the bytes it sent (a range read twice counts twice).
    func downloadEnded(_ entry: OutboxEntry, for session: PartnerSession, served: ByteCoverage, bytes: Int64)

    /// A partner acknowledges bundle `id` by the SHA-256 (hex) of the file it received. The one
    /// receipt check for both transports; every outcome is recorded.
    func acknowledge(_ id: BundleID, sha256: String, for session: PartnerSession) throws -> ReceiptOutcome

    /// What the partner has uploaded so far, by the names it used. A name is never reused.
    func uploads(for session: PartnerSession) throws -> [UploadEntry]

    /// Starts an upload to `/inbox/<name>`. Throws a `Refusal` (recorded) when the name is taken:
    /// uploads never overwrite.
    func beginUpload(named name: String, for session: PartnerSession) throws -> any StagedUpload

    /// Records a request the transport refused: `reason`, and what was asked for (`subject`: a
    /// path, an operation, a bundle id; never document content). Never throws: the request is
    /// refused either way, and a failure to record it is logged.
    func refused(_ reason: Refusal.Reason, subject: String?, action: TransferEvent.Action, partner: PartnerID?,
                 origin: SessionOrigin)

    /// Records an event the transport's refusal throttles summarise (login and handshake floods).
    func record(_ event: TransferEvent) throws

    /// One request served or refused, for the access log and the latency histogram (not the
    /// audit trail, which the other calls record).
    func accessed(_ record: AccessRecord)

    /// The largest upload accepted, in bytes.
    var maxUploadBytes: Int64 { get }
}

extension PartnerExchange {
    /// A refusal of a request made in `session`.
    public func refused(_ reason: Refusal.Reason, subject: String? = nil, action: TransferEvent.Action = .accessRefused,
                        in session: PartnerSession) {
        refused(reason, subject: subject, action: action, partner: session.partner, origin: session.origin)
    }
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
