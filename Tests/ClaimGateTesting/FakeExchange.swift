import ClaimGateCore
import Envelope
import Foundation

/// An in-memory `PartnerExchange` for front-end tests: it stands in for the gateway's rules
/// (`GatewayExchange`) so a test can start `SFTPServer` or `PartnerAPIServer` on it, drive the
/// server with a stock client, and then check what the front end asked for and recorded.
///
/// It works like the real exchange where a front end can tell: sessions open only from the
/// credentials it was given (SSH public key lines per user, client certificates per partner),
/// bundles are real files in a temporary folder, downloads and receipts are judged against them,
/// uploads are written to real files (staged, then linked under their name on commit) and a name
/// is never reused. What the real exchange decides from agreements and the store is scripted
/// instead: `sessionRefusal`, `revalidationRefusal`, `refuseRevalidation(with:once:)`,
/// `withdrawAtDownload(_:)`, `recordingFails`, `failRecording(once:)`.
///
/// Every call it receives is kept, in order, in `calls`.
public final class FakeExchange: PartnerExchange, @unchecked Sendable {
    /// The folder holding the outbox files and the partners' inboxes; removed with the exchange.
    public let folder: TemporaryDirectory
    public let maxUploadBytes: Int64

    private let lock = NSCondition()
    private var sshKeys: [PartnerID: [String]] = [:]
    private var clientCertificates: [[UInt8]: PartnerID] = [:]
    private var outbox: [BundleID: (partner: PartnerID, entry: OutboxEntry)] = [:]
    private var outboxOrder: [BundleID] = []
    private var withdrawnAtDownload: Set<BundleID> = []
    private var acknowledged: Set<BundleID> = []
    private var committed: [PartnerID: [UploadEntry]] = [:]
    private var staging: [PartnerID: Set<String>] = [:]
    private var _calls: [Call] = []
    private var _sessions: [PartnerSession] = []
    private var _events: [TransferEvent] = []
    private var _accesses: [AccessRecord] = []
    private var _sessionRefusal: Refusal?
    private var _revalidationRefusal: Refusal?
    private var _recordingFails = false
    /// Changes made once a matching call is received (`refuseRevalidation(with:once:)`, `failRecording(once:)`).
    private var triggers: [(matches: @Sendable (Call) -> Bool, change: Change)] = []
    /// Changes whose trigger was received, made from the next call on.
    private var due: [Change] = []
    private enum Change { case refuseRevalidation(Refusal), failRecording }

    /// - Parameter maxUploadBytes: the largest upload accepted (larger ones are refused with
    ///   `upload-too-large`).
    public init(maxUploadBytes: Int64 = 1 << 20) {
        folder = TemporaryDirectory("claimgate-fake-exchange")
        self.maxUploadBytes = maxUploadBytes
    }

    /// The reasons the session rule (`openSession`, `revalidate`) refuses with: every one ends a
    /// session.
    public static let sessionRuleReasons: [Refusal.Reason] = [
        .partnerSuspended, .partnerRemoved, .agreementEnded, .unknownPartner, .unknownKey, .transportNotAllowed,
        .certificateAmbiguous, .certificateNotForClients, .certificateRevoked, .crlExpired, .crlUnusable,
    ]

    // MARK: Configuration

    /// Lets `partner` (its id is the SSH user name) log in with the public key `line`
    /// (`TYPE BASE64 [COMMENT]`; the comment is ignored).
    public func allowSSHKey(_ line: String, for partner: PartnerID) {
        lock.withLock { sshKeys[partner, default: []].append(line) }
    }

    /// Lets the client certificate `der` (the TLS leaf) identify `partner`, at the handshake and
    /// at every request.
    public func allowClientCertificate(_ der: [UInt8], for partner: PartnerID) {
        lock.withLock { clientCertificates[der] = partner }
    }

    /// When set, `openSession` refuses every known credential with it (a suspended partner, an
    /// agreement that ended…); unknown credentials are refused as unknown either way.
    public var sessionRefusal: Refusal? {
        get { lock.withLock { _sessionRefusal } }
        set { lock.withLock { _sessionRefusal = newValue } }
    }

    /// When set, `revalidate` refuses every session with it: the session rule no longer holds.
    public var revalidationRefusal: Refusal? {
        get { lock.withLock { _revalidationRefusal } }
        set { lock.withLock { _revalidationRefusal = newValue } }
    }

    /// When true, everything that records (a login, a listing, a download start, a receipt, an
    /// upload, an event) throws `audit-unavailable`, as the real exchange does when its store
    /// cannot be written.
    public var recordingFails: Bool {
        get { lock.withLock { _recordingFails } }
        set { lock.withLock { _recordingFails = newValue } }
    }

    /// Ends sessions part-way: once a call matching `trigger` has been received, `revalidate`
    /// refuses with `refusal` from the next call on (as if the agreement changed right after).
    public func refuseRevalidation(with refusal: Refusal, once trigger: @escaping @Sendable (Call) -> Bool) {
        lock.withLock { triggers.append((trigger, .refuseRevalidation(refusal))) }
    }

    /// Sets `recordingFails` once a call matching `trigger` has been received, from the next call
    /// on (so a session can log in, which records, and then find the audit trail unavailable).
    public func failRecording(once trigger: @escaping @Sendable (Call) -> Bool) {
        lock.withLock { triggers.append((trigger, .failRecording)) }
    }

    /// Puts a bundle in `partner`'s outbox: `contents` is written to a real file, `<id>.p7m`.
    @discardableResult
    public func addBundle(for partner: PartnerID, contents: Data, claimID: String = "CLM-2026-000001",
                          purpose: String = "claim-assessment", created: Date = Date(),
                          expires: Date = Date().addingTimeInterval(86_400)) throws -> OutboxEntry {
        let id = BundleID.random()
        let path = try folder.write("outbox/\(id.fileName)", contents)
        let entry = OutboxEntry(bundleID: id, size: Int64(contents.count), created: created, expires: expires,
                                claimID: claimID, purpose: purpose, filePath: path)
        lock.withLock {
            outbox[id] = (partner, entry)
            outboxOrder.append(id)
        }
        return entry
    }

    /// Leaves bundle `id` listed and found, but has `startDownload` refuse it as unavailable, as
    /// when it is recalled or expires between a client's stat and its open.
    public func withdrawAtDownload(_ id: BundleID) {
        lock.withLock { _ = withdrawnAtDownload.insert(id) }
    }

    // MARK: What the front end asked for

    /// Every call received, in order.
    public var calls: [Call] { lock.withLock { _calls } }

    /// Every session `openSession` opened, in order.
    public var sessions: [PartnerSession] { lock.withLock { _sessions } }

    /// The events given to `record(_:)` (refused logins and handshakes), in order.
    public var events: [TransferEvent] { lock.withLock { _events } }

    /// The access records the front end reported, in order.
    public var accesses: [AccessRecord] { lock.withLock { _accesses } }

    /// Waits until the front end has reported an access record that satisfies `condition`.
    public func waitForAccess(timeout: Double = 5, _ condition: (AccessRecord) -> Bool) -> AccessRecord? {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let r = _accesses.first(where: condition) { return r }
            if !lock.wait(until: deadline) { return _accesses.first(where: condition) }
        }
    }

    /// The refusals the front end recorded through `refused(...)`, in order.
    public var refusals: [Refused] {
        calls.compactMap { if case .refused(let r) = $0 { r } else { nil } }
    }

    /// Whether bundle `id` was acknowledged by a receipt.
    public func isAcknowledged(_ id: BundleID) -> Bool { lock.withLock { acknowledged.contains(id) } }

    /// What `partner` has uploaded (committed), by name.
    public func uploads(of partner: PartnerID) -> [UploadEntry] { lock.withLock { committed[partner] ?? [] } }

    /// The content of a committed upload.
    public func uploadedContents(_ name: String, of partner: PartnerID) -> Data? {
        FileManager.default.contents(atPath: inboxFolder(partner) + "/" + name)
    }

    /// The files in `partner`'s inbox folder, staged ones (`.upload-…`) included.
    public func inboxFiles(of partner: PartnerID) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: inboxFolder(partner))) ?? []).sorted()
    }

    /// Waits (at most `timeout` seconds) until the calls received satisfy `condition`, for what a
    /// front end records after it answered (the end of an HTTPS download).
    /// - Returns: whether they did.
    @discardableResult
    public func waitUntil(timeout: Double = 5, _ condition: ([Call]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while !condition(_calls) {
            if !lock.wait(until: deadline) { return condition(_calls) }
        }
        return true
    }

    // MARK: PartnerExchange: sessions

    public func openSession(_ credential: PartnerCredential, origin: SessionOrigin) -> Result<PartnerSession, Refusal> {
        lock.withLock {
            append(.openSession(credential, transport: origin.transport))
            let result = judge(credential).map { PartnerSession(partner: $0, credential: credential, origin: origin) }
            if case .success(let s) = result { _sessions.append(s) }
            return result
        }
    }

    public func revalidate(_ session: PartnerSession) -> Result<Void, Refusal> {
        lock.withLock {
            append(.revalidate(session.partner, transport: session.origin.transport))
            if let r = _revalidationRefusal { return .failure(r.partner == nil ? r.of(session.partner) : r) }
            return judge(session.credential).flatMap { p in
                p == session.partner ? .success(())
                    : .failure(Refusal(.unknownKey, "The credential no longer identifies \(session.partner).", partner: session.partner))
            }
        }
    }

    /// The partner a credential identifies (caller holds the lock).
    private func judge(_ credential: PartnerCredential) -> Result<PartnerID, Refusal> {
        let partner: PartnerID
        switch credential {
        case .sshKey(let user, let key):
            guard let id = try? PartnerID(user), let lines = sshKeys[id] else {
                return .failure(Refusal(.unknownPartner, "No partner '\(user.prefix(64))'."))
            }
            guard lines.contains(where: { Self.sameKey($0, key) }) else {
                return .failure(Refusal(.unknownKey, "This key is not in \(id)'s agreement."))
            }
            partner = id
        case .clientCertificate(let der):
            guard let id = clientCertificates[der] else {
                return .failure(Refusal(.unknownPartner, "The client certificate identifies no partner."))
            }
            partner = id
        }
        if let r = _sessionRefusal { return .failure(r.partner == nil ? r.of(partner) : r) }
        return .success(partner)
    }

    /// `TYPE BASE64` of two authorized_keys lines, comments ignored.
    static func sameKey(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: " ").prefix(2), y = b.split(separator: " ").prefix(2)
        return x.count == 2 && Array(x) == Array(y)
    }

    public func acceptsClientCertificate(chainDER: [[UInt8]]) -> Bool {
        lock.withLock {
            let accepted = chainDER.first.map { clientCertificates[$0] != nil } ?? false
            append(.acceptsClientCertificate(chainLength: chainDER.count, accepted: accepted))
            return accepted
        }
    }

    public func recordLogin(_ session: PartnerSession) throws {
        try lock.withLock {
            append(.recordLogin(session.partner, transport: session.origin.transport))
            try failIfRecordingFails()
        }
    }

    // MARK: PartnerExchange: outbox

    public func listOutbox(_ session: PartnerSession) throws -> [OutboxEntry] {
        try lock.withLock {
            append(.listOutbox(session.partner))
            try failIfRecordingFails()
            return outboxOrder.compactMap { outbox[$0] }.filter { $0.partner == session.partner }.map(\.entry)
        }
    }

    public func bundle(_ id: BundleID, for session: PartnerSession) throws -> OutboxEntry? {
        lock.withLock {
            append(.bundle(id, session.partner))
            return entry(id, for: session.partner)
        }
    }

    /// Bundle `id` when it is `partner`'s (caller holds the lock).
    private func entry(_ id: BundleID, for partner: PartnerID) -> OutboxEntry? {
        guard let found = outbox[id], found.partner == partner else { return nil }
        return found.entry
    }

    public func fileDigest(of entry: OutboxEntry) throws -> String {
        lock.withLock { append(.fileDigest(entry.bundleID)) }
        return try SHA256Hasher.hex(file: entry.filePath)
    }

    public func startDownload(_ id: BundleID, for session: PartnerSession,
                              offset: @escaping @Sendable (OutboxEntry) -> Int64?) throws -> DownloadStart {
        try lock.withLock {
            guard let entry = entry(id, for: session.partner), !withdrawnAtDownload.contains(id) else {
                append(.startDownload(id, session.partner, .unavailable))
                try failIfRecordingFails()
                // The real exchange records the refusal of an unavailable bundle itself.
                append(.refused(Refused(reason: .bundleUnavailable, subject: id.description, action: .accessRefused,
                                        partner: session.partner, origin: session.origin)))
                return .unavailable
            }
            guard let at = offset(entry) else {
                append(.startDownload(id, session.partner, .unsatisfiable))
                return .unsatisfiable(entry)
            }
            append(.startDownload(id, session.partner, .started(offset: at)))
            try failIfRecordingFails()
            return .started(entry, offset: at)
        }
    }

    public func downloadEnded(_ entry: OutboxEntry, for session: PartnerSession, served: ByteCoverage, bytes: Int64) {
        lock.withLock { append(.downloadEnded(entry.bundleID, session.partner, bytes: bytes, complete: served.covers(size: entry.size))) }
    }

    // MARK: PartnerExchange: receipts

    public func acknowledge(_ id: BundleID, sha256 raw: String, for session: PartnerSession) throws -> ReceiptOutcome {
        let sha256 = raw.lowercased()
        let found: OutboxEntry? = try lock.withLock {
            if _recordingFails {
                append(.acknowledge(id, sha256: raw, session.partner, .refused(Refusal(.auditUnavailable, "not recorded"))))
                try failIfRecordingFails()
            }
            return entry(id, for: session.partner)
        }
        let outcome: ReceiptOutcome
        if sha256.utf8.count != 64 || !sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) {
            outcome = .refused(Refusal(.malformedReceipt, "A receipt holds the bundle file's SHA-256 in hex.", partner: session.partner))
        } else if let found {
            outcome = try SHA256Hasher.hex(file: found.filePath) == sha256
                ? .acknowledged(found)
                : .refused(Refusal(.digestMismatch, "That SHA-256 is not the bundle's.", partner: session.partner))
        } else {
            outcome = .refused(Refusal(.bundleUnavailable, "No such bundle is available to you.", partner: session.partner))
        }
        lock.withLock {
            if case .acknowledged = outcome { acknowledged.insert(id) }
            append(.acknowledge(id, sha256: raw, session.partner, outcome))
        }
        return outcome
    }

    // MARK: PartnerExchange: inbox

    public func uploads(for session: PartnerSession) throws -> [UploadEntry] {
        lock.withLock {
            append(.uploads(session.partner))
            return committed[session.partner] ?? []
        }
    }

    public func beginUpload(named name: String, for session: PartnerSession) throws -> any StagedUpload {
        let folder = inboxFolder(session.partner)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try lock.withLock {
            append(.beginUpload(name, session.partner))
            let taken = (committed[session.partner] ?? []).contains { $0.name == name }
                || staging[session.partner, default: []].contains(name)
            if taken {
                append(.refused(Refused(reason: .operationRefused, subject: "overwrite /inbox/\(name)", action: .accessRefused,
                                        partner: session.partner, origin: session.origin)))
                throw Refusal(.operationRefused, "/inbox/\(name) exists: uploads never overwrite; use another name.")
            }
            staging[session.partner, default: []].insert(name)
        }
        return try FakeStagedUpload(name: name, folder: folder, session: session, exchange: self)
    }

    /// A staged upload takes another name before its commit, unless that name is taken (then
    /// refused and recorded, as `beginUpload` does).
    func renameStaged(_ old: String, to new: String, of session: PartnerSession) throws {
        try lock.withLock {
            let taken = (committed[session.partner] ?? []).contains { $0.name == new }
                || staging[session.partner, default: []].contains(new)
            if taken {
                append(.refused(Refused(reason: .operationRefused, subject: "overwrite /inbox/\(new)", action: .accessRefused,
                                        partner: session.partner, origin: session.origin)))
                throw Refusal(.operationRefused, "/inbox/\(new) exists: uploads never overwrite; use another name.")
            }
            staging[session.partner]?.remove(old)
            staging[session.partner, default: []].insert(new)
        }
    }

    /// Where `partner`'s uploads are written.
    func inboxFolder(_ partner: PartnerID) -> String { folder.file("inbox/\(partner)") }

    /// A staged upload's step, recorded; throws `audit-unavailable` for a commit while recording fails.
    func staged(_ call: Call) throws {
        try lock.withLock {
            append(call)
            if case .uploadCommitted = call { try failIfRecordingFails() }
        }
    }

    /// A staged upload is gone: committed under its name (listed from now on), or discarded
    /// (the name may be used again).
    func unstaged(_ name: String, of partner: PartnerID, committed entry: UploadEntry?) {
        lock.withLock {
            staging[partner]?.remove(name)
            if let entry { committed[partner, default: []].append(entry) }
        }
    }

    // MARK: PartnerExchange: recording

    public func refused(_ reason: Refusal.Reason, subject: String?, action: TransferEvent.Action, partner: PartnerID?,
                        origin: SessionOrigin) {
        lock.withLock {
            append(.refused(Refused(reason: reason, subject: subject, action: action, partner: partner, origin: origin)))
        }
    }

    public func record(_ event: TransferEvent) throws {
        try lock.withLock {
            append(.record(event.action, event.reason?.code, transport: event.transport))
            try failIfRecordingFails()
            _events.append(event)
        }
    }

    public func accessed(_ record: AccessRecord) {
        lock.withLock {
            _accesses.append(record)
            lock.broadcast()
        }
    }

    // MARK: Helpers

    /// Makes the changes earlier calls triggered, appends a call, notes the changes it triggers
    /// and wakes `waitUntil` (caller holds the lock).
    private func append(_ call: Call) {
        for change in due {
            switch change {
            case .refuseRevalidation(let r): _revalidationRefusal = r
            case .failRecording: _recordingFails = true
            }
        }
        due = []
        _calls.append(call)
        due = triggers.filter { $0.matches(call) }.map(\.change)
        triggers.removeAll { $0.matches(call) }
        lock.broadcast()
    }

    private func failIfRecordingFails() throws {
        if _recordingFails { throw ClaimGateError(.auditUnavailable, "The audit trail cannot be written (fake exchange).") }
    }
}
