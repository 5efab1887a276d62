import ClaimGateCore
import Foundation
import Logging
import Store

/// The gateway side of every partner transport: the one place for the session rule, which bundles
/// a session may list and fetch, the download start, upload staging, receipts and what is
/// recorded, so SFTP and HTTPS cannot drift apart. Transports only translate.
public final class GatewayExchange: PartnerExchange, @unchecked Sendable {
    let store: GatewayStore
    let clock: any WallClock
    let logger: Logger
    /// Where sealed bundles live (`HOME/outbox`): only files below it are ever served.
    let outboxRoot: String
    /// Where each partner's uploads are staged (`HOME/inbound/<partner>`).
    let inboxDirectory: @Sendable (PartnerID) -> String
    let digests: BundleFileDigests
    let inbound: any InboundProcessing
    /// Uploads larger than this are refused or quarantined.
    public let maxUploadBytes: Int64
    /// Partners in force with their parsed trust anchors and CRLs, re-read at most `maxAge` late.
    let directory: PartnerDirectory
    let rule: SessionRule
    /// Pieces of bundles partners fetched in parts (several handles, connections or ranges).
    let pieces = DownloadPieces()
    /// Partner request durations since this exchange was made, for `/metrics`.
    public let durations = RequestDurations()
    /// Where access lines go: one per request, at info.
    let accessLogger: Logger

    /// - Parameters:
    ///   - outboxRoot: the folder below which every servable bundle file lies.
    ///   - inboxDirectory: each partner's upload folder (created on demand, 0700).
    ///   - directoryMaxAge: how stale the partner snapshot used on the hot paths may be.
    public init(store: GatewayStore, clock: any WallClock, logger: Logger, outboxRoot: String,
                inboxDirectory: @escaping @Sendable (PartnerID) -> String, digests: BundleFileDigests,
                inbound: any InboundProcessing, maxUploadBytes: Int64 = 512 << 20, directoryMaxAge: TimeInterval = 1) {
        self.store = store; self.clock = clock; self.logger = logger
        self.outboxRoot = outboxRoot.hasSuffix("/") ? outboxRoot : outboxRoot + "/"
        self.inboxDirectory = inboxDirectory; self.digests = digests; self.inbound = inbound
        self.maxUploadBytes = maxUploadBytes
        directory = PartnerDirectory(maxAge: directoryMaxAge, logger: logger)
        rule = SessionRule(store: store, directory: directory, clock: clock, logger: logger)
        var access = logger
        access[metadataKey: "log"] = "access"
        accessLogger = access
    }

    /// Re-reads the partners now (`serve` does every second): changes are logged, and in force
    /// for the next request.
    public func refreshPartners() { _ = directory.refreshed(store) }

    // MARK: Access log

    /// Milliseconds with one decimal (`412.6`), without Foundation's `String(format:)`, which
    /// costs more than the rest of an access line.
    static func milliseconds(_ d: Duration) -> String {
        let c = d.components
        let tenths = max(0, c.seconds * 10_000 + c.attoseconds / 100_000_000_000_000)
        return "\(tenths / 10).\(tenths % 10)"
    }

    public func accessed(_ r: AccessRecord) {
        durations.observe(r)
        var metadata: Logger.Metadata = [
            "transport": "\(r.transport.rawValue)", "client.address": "\(r.clientAddress)",
            "operation": "\(r.operation.rawValue)", "request": "\(r.request)",
            "bytes": "\(r.bytes)", "status": "\(r.status)", "duration_ms": "\(Self.milliseconds(r.duration))",
        ]
        if let p = r.partner { metadata["partner.id"] = "\(p.rawValue)" }
        if let b = r.bundleID { metadata["bundle.id"] = "\(b.description)" }
        accessLogger.info("access", metadata: metadata)
    }

    // MARK: Sessions

    public func openSession(_ credential: PartnerCredential, origin: SessionOrigin) -> Result<PartnerSession, Refusal> {
        rule.judge(credential, transport: origin.transport).map { PartnerSession(partner: $0.id, credential: credential, origin: origin) }
    }

    public func revalidate(_ session: PartnerSession) -> Result<Void, Refusal> {
        switch rule.judge(session.credential, transport: session.origin.transport) {
        case .failure(let r): return .failure(r)
        case .success(let p) where p.id != session.partner:
            return .failure(Refusal(.unknownKey, "The credential no longer identifies \(session.partner).", partner: session.partner))
        case .success: return .success(())
        }
    }

    public func acceptsClientCertificate(chainDER: [[UInt8]]) -> Bool { rule.acceptsClientCertificate(chainDER: chainDER) }

    public func recordLogin(_ session: PartnerSession) throws {
        try store.record(event(.login, .success, session))
    }

    // MARK: Outbox

    /// The partner as the agreements stand (a snapshot at most `directoryMaxAge` old): the terms
    /// every bundle access is judged by.
    private func partner(_ session: PartnerSession) -> Partner? {
        // A partner onboarded a moment ago is found by refreshing once on a miss.
        directory.current(store).partner(session.partner) ?? directory.refreshed(store).partner(session.partner)
    }

    private func accessible(_ b: BundleRecord, by partner: Partner?) -> Bool {
        guard let partner, b.filePath.hasPrefix(outboxRoot) else { return false }
        return BundleAccessible(partner: partner, clock: clock).evaluate(b) == .meets
    }

    public func listOutbox(_ session: PartnerSession) throws -> [OutboxEntry] {
        let p = partner(session)
        let list = try store.bundles(partner: session.partner).filter { accessible($0, by: p) }.map(Self.entry)
        try store.record(event(.listing, .success, session, bytes: Int64(list.count)))
        return list
    }

    public func bundle(_ id: BundleID, for session: PartnerSession) throws -> OutboxEntry? {
        guard let b = try store.bundle(id), accessible(b, by: partner(session)) else { return nil }
        return Self.entry(b)
    }

    static func entry(_ b: BundleRecord) -> OutboxEntry {
        OutboxEntry(bundleID: b.id, size: b.fileSize, created: b.created, expires: b.expires, claimID: b.claimID,
                    purpose: b.purpose, filePath: b.filePath)
    }

    public func fileDigest(of entry: OutboxEntry) throws -> String {
        try digests.digest(ofBundle: entry.bundleID, at: entry.filePath)
    }

    public func startDownload(_ id: BundleID, for session: PartnerSession,
                              offset: @escaping @Sendable (OutboxEntry) -> Int64?) throws -> DownloadStart {
        let p = partner(session)
        return try store.judgingBundle(id) { [self] b in
            // Judged at the moment of the transaction, as the start is recorded.
            guard let b, accessible(b, by: p) else {
                return (.unavailable, event(.accessRefused, .refused, session,
                                            reason: EventReason(.bundleUnavailable, id.description)))
            }
            let entry = Self.entry(b)
            guard let at = offset(entry) else { return (.unsatisfiable(entry), nil) }
            return (.started(entry, offset: at), event(.download, .started, session, entry: entry, bytes: at > 0 ? at : nil,
                                                        reason: at > 0 ? EventReason(.resume) : nil))
        }
    }

    public func downloadEnded(_ entry: OutboxEntry, for session: PartnerSession, served: ByteCoverage, bytes: Int64) {
        let complete = served.covers(size: entry.size)
            || pieces.completes(entry, partner: session.partner, with: served, at: clock.now)
        let e = event(.download, complete ? .success : .partial, session, entry: entry, bytes: bytes)
        let logger = self.logger
        store.recordSoon(e, bundleState: complete ? (entry.bundleID, .downloaded, [.queued, .delivered]) : nil) { error in
            logger.error("recording the end of a download failed",
                         metadata: ["bundle.id": "\(entry.bundleID.description)", "error": "\(error)"])
        }
    }

    // MARK: Receipts

    public func acknowledge(_ id: BundleID, sha256 raw: String, for session: PartnerSession) throws -> ReceiptOutcome {
        // A bundle that is not the session's to have is refused first, and recorded as every
        // request for one is (`access-refused`, the id as subject), so the access review sees a
        // probe through receipts like one through downloads.
        guard let entry = try bundle(id, for: session) else {
            try store.record(event(.accessRefused, .refused, session, reason: EventReason(.bundleUnavailable, id.description)))
            return .refused(Refusal(.bundleUnavailable, "No such bundle is available to you."))
        }
        let sha256 = raw.lowercased()
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            try store.record(event(.receipt, .refused, session, entry: entry, reason: EventReason(.malformedReceipt)))
            return .refused(Refusal(.malformedReceipt, "A receipt holds the bundle file's SHA-256 in hex, as `sha256sum FILE.p7m` prints it."))
        }
        let matches = try sha256 == fileDigest(of: entry)
        var e = event(.receipt, matches ? .success : .refused, session, entry: entry,
                      reason: matches ? nil : EventReason(.digestMismatch))
        e.documentDigests = [sha256]
        guard matches else {
            try store.record(e)
            return .refused(Refusal(.digestMismatch, "That SHA-256 is not the bundle's: download it again and check it before acknowledging."))
        }
        try store.updateBundleState(entry.bundleID, to: .acknowledged, from: [.queued, .delivered, .downloaded], event: e)
        return .acknowledged(entry)
    }

    // MARK: Inbox

    public func uploads(for session: PartnerSession) throws -> [UploadEntry] {
        try store.inboundReports(partner: session.partner).map { UploadEntry(name: $0.fileName, size: $0.bytes, received: $0.received) }
    }

    public func beginUpload(named name: String, for session: PartnerSession) throws -> any StagedUpload {
        let dir = inboxDirectory(session.partner)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw ClaimGateError(.io, "Cannot create the inbox folder \(dir): check that the gateway home is writable.")
        }
        try requireNameFree(name, for: session)
        return try UploadStaging(name: name, directory: dir, exchange: self, session: session)
    }

    /// A name is used once: neither a file waiting to be processed nor an earlier upload's.
    /// Throws the refusal (recorded) when `name` is taken.
    func requireNameFree(_ name: String, for session: PartnerSession) throws {
        let taken = try store.hasInboundReport(partner: session.partner, fileName: name)
        if taken || access(inboxDirectory(session.partner) + "/" + name, F_OK) == 0 {
            refused(.operationRefused, subject: "overwrite /inbox/\(name.prefix(80))", in: session)
            throw Refusal(.operationRefused, "/inbox/\(name.prefix(80)) exists: uploads never overwrite; use another name.")
        }
    }

    /// A staged upload is on disk under its name: recorded, then processed as an inbound report
    /// (accepted or quarantined) or, for `<bundle-id>.receipt`, as a receipt.
    func uploadCommitted(_ upload: UploadStaging, session: PartnerSession) throws -> InboundReport {
        try store.record(event(.upload, .success, session, bytes: upload.bytes))
        if let bundleID = Self.receiptBundleID(upload.name) {
            return try receiptUploaded(bundleID, upload: upload, session: session)
        }
        return try inbound.processInbound(path: upload.path, name: upload.name, partner: session.partner,
                                          origin: session.origin, maxBytes: maxUploadBytes)
    }

    /// An upload refused (too large) or failed (`interrupted`, `store-failed`): recorded, logged
    /// if even that fails.
    func uploadFailed(name: String, bytes: Int64, refusal: Refusal.Reason? = nil, failure: EventReason.Code.Note? = nil, session: PartnerSession) {
        let e = event(.upload, refusal == nil ? .failed : .refused, session, bytes: bytes,
                      reason: refusal.map { EventReason($0, "/inbox/\(name.prefix(80))") } ?? failure.map { EventReason($0) })
        do { try store.record(e) } catch { logger.error("recording an event failed", metadata: ["action": "upload"]) }
    }

    /// `<bundle-id>.receipt` (lowercase UUID): a receipt uploaded over SFTP.
    static func receiptBundleID(_ name: String) -> BundleID? {
        name.hasSuffix(".receipt") ? BundleID(name.dropLast(8)) : nil
    }

    /// A receipt file holds the SHA-256 (hex) of the bundle file the partner received, as
    /// `sha256sum` prints it, and acknowledges through the same check as `POST
    /// /v1/bundles/{id}/receipt`. The file itself is not kept (its digest is in the audit entry),
    /// so a refused receipt's name can be used again.
    private func receiptUploaded(_ bundleID: BundleID, upload: UploadStaging, session: PartnerSession) throws -> InboundReport {
        defer { unlink(upload.path) }
        let text = upload.bytes <= 4096 ? ((try? String(contentsOfFile: upload.path, encoding: .utf8)) ?? "") : ""
        let digest = text.split(whereSeparator: { $0 == " " || $0.isNewline }).first.map(String.init) ?? ""
        var report = InboundReport(id: UUID(), partnerID: session.partner, fileName: upload.name, received: clock.now,
                                   bytes: upload.bytes, state: .quarantined, transport: session.origin.transport,
                                   bundleID: bundleID, storedPath: "")
        switch try acknowledge(bundleID, sha256: digest, for: session) {
        case .acknowledged(let entry):
            report.state = .accepted
            report.claimID = entry.claimID
            report.purpose = entry.purpose
        case .refused(let r):
            report.reason = r.message
        }
        return report
    }

    // MARK: Recording

    public func refused(_ reason: Refusal.Reason, subject: String?, action: TransferEvent.Action, partner: PartnerID?,
                        origin: SessionOrigin) {
        let text = EventReason(reason, subject.map { String($0.prefix(160)) })
        let e = TransferEvent(time: clock.now, actor: partner.map { .partner($0) } ?? .system, action: action,
                              outcome: .refused, partnerID: partner, reason: text,
                              transport: origin.transport, clientAddress: origin.clientAddress)
        do { try store.record(e) } catch { logger.error("recording an event failed", metadata: ["action": "\(action.rawValue)"]) }
    }

    public func record(_ event: TransferEvent) throws { try store.record(event) }

    /// An event of `session`, with the bundle's claim and purpose when there is one.
    private func event(_ action: TransferEvent.Action, _ outcome: TransferEvent.Outcome, _ session: PartnerSession,
                       entry: OutboxEntry? = nil, bundleID: BundleID? = nil, bytes: Int64? = nil, reason: EventReason? = nil) -> TransferEvent {
        TransferEvent(time: clock.now, actor: .partner(session.partner), action: action, outcome: outcome, partnerID: session.partner,
                      claimID: entry?.claimID, bundleID: entry?.bundleID ?? bundleID, purpose: entry?.purpose, bytes: bytes,
                      reason: reason, transport: session.origin.transport, clientAddress: session.origin.clientAddress)
    }
}
