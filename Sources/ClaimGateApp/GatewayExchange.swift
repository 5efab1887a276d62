import ClaimGateCore
import Foundation
import Envelope
import SFTP

/// The gateway side of every partner transport: one place for the rules (who may log in, which
/// bundles are available, what is recorded), so SFTP and HTTPS cannot drift apart.
public final class GatewayExchange: PartnerExchange, @unchecked Sendable {
    let gateway: Gateway
    /// Uploads larger than this are refused or quarantined.
    public let maxUploadBytes: Int64

    /// Partners and their parsed trust anchors, re-read from the store at most a second late.
    let directory = PartnerDirectory()

    public init(gateway: Gateway, maxUploadBytes: Int64 = 512 << 20) {
        self.gateway = gateway
        self.maxUploadBytes = maxUploadBytes
    }

    private var clock: any WallClock { gateway.clock }

    public func authorize(partner raw: String, sshKey: String) -> Result<PartnerID, Refusal> {
        guard PartnerID.isValid(raw), let id = try? PartnerID(raw), let p = try? gateway.store.partner(id) else {
            return .failure(Refusal(.unknownPartner, "No partner '\(raw.prefix(64))'."))
        }
        guard p.agreement.delivery.pull.contains(.sftp) else {
            return .failure(Refusal(.operationRefused, "Agreement \(p.agreement.terms.reference) does not list sftp under delivery.pull."))
        }
        guard p.agreement.sshAuthorizedKeys.contains(where: { Self.sameKey($0, sshKey) }) else {
            return .failure(Refusal(.unknownKey, "This key is not in \(id)'s agreement."))
        }
        if case .fails(let r) = PartnerPolicy.mayAct(clock: clock).evaluate(p) { return .failure(r) }
        return .success(id)
    }

    /// Compares `TYPE BASE64` of two authorized_keys lines, ignoring comments.
    static func sameKey(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: " ").prefix(2), y = b.split(separator: " ").prefix(2)
        return x.count == 2 && Array(x) == Array(y)
    }

    public func identify(clientCertificateDER der: [UInt8]) -> Result<PartnerID, Refusal> {
        // A partner onboarded (or a CRL loaded) a moment ago is found by refreshing once on a miss.
        var found = directory.current(gateway.store).identification(ofDER: der, at: clock.now)
        if let f = found, f.allowsClientAuthentication, f.partners.isEmpty {
            found = directory.refreshed(gateway.store).identification(ofDER: der, at: clock.now)
        }
        guard let found else {
            return .failure(Refusal(.unknownPartner, "The client certificate cannot be read."))
        }
        // The custom handshake check replaces the TLS library's, purpose included: only a
        // certificate meant for TLS client authentication identifies a partner.
        guard found.allowsClientAuthentication else {
            return .failure(Refusal(.unknownPartner, "The client certificate '\(found.subject)' is not meant for TLS client authentication (key usage / extended key usage clientAuth)."))
        }
        guard found.partners.count == 1, let p = found.partners.first else {
            if found.partners.isEmpty, let r = found.revocation {
                // Revoked, or the partner's CRL expired: fail closed, and say which in the log.
                logRevocation(r, subject: found.subject, fingerprint: found.fingerprint, "request")
                return .failure(Refusal(.revocation(r.error.code), r.error.message))
            }
            return .failure(Refusal(.unknownPartner, found.partners.isEmpty
                ? "The client certificate '\(found.subject)' does not chain to any partner's trust anchor, or is not one its agreement pins."
                : "The client certificate chains to several partners' trust anchors: refused as ambiguous (pin it in certificates.tls_client)."))
        }
        if case .fails(let r) = PartnerPolicy.mayAct(clock: clock).evaluate(p) { return .failure(r) }
        guard p.agreement.delivery.pull.contains(.https) else {
            return .failure(Refusal(.operationRefused, "Agreement \(p.agreement.terms.reference) does not list https under delivery.pull."))
        }
        return .success(p.id)
    }

    public func acceptsClientCertificate(chainDER: [[UInt8]]) -> Bool {
        guard let leafDER = chainDER.first, let leaf = try? Certificate(der: leafDER), leaf.allowsTLSClientAuthentication else { return false }
        // Intermediates the client sends are not used: `identify` judges each request by the leaf
        // and the agreement's anchors alone, and the handshake must not accept what every request
        // would then refuse. A partner issuing through an intermediate CA lists it in trust_anchor.
        if directory.current(gateway.store).chains(leaf, at: clock.now).accepted { return true }
        let fresh = directory.refreshed(gateway.store).chains(leaf, at: clock.now)
        if let r = fresh.revocation, !fresh.accepted { logRevocation(r, subject: leaf.subject, fingerprint: leaf.sha256Fingerprint, "handshake") }
        return fresh.accepted
    }

    /// Logs why a partner's CRL refused a client certificate (the wire says only "refused").
    private func logRevocation(_ r: PartnerDirectory.Revocation, subject: String, fingerprint: String, _ stage: String) {
        gateway.logger.info("client certificate refused by the partner's CRL", metadata: [
            "partner.id": "\(r.partner)", "tls.stage": "\(stage)", "reason": "\(Refusal.Reason.revocation(r.error.code))",
            "certificate.sha256": "\(fingerprint)", "error": "\(r.error.message)"])
    }

    public func fileDigest(of entry: OutboxEntry) throws -> String {
        try gateway.fileDigest(ofBundle: entry.bundleID, at: entry.filePath)
    }

    public func acknowledge(_ entry: OutboxEntry, partner: PartnerID, sha256: String, origin: SessionOrigin) throws -> Bool {
        let matches = try sha256.lowercased() == fileDigest(of: entry)
        let event = TransferEvent(time: clock.now, actor: .partner(partner), action: .receipt, outcome: matches ? .success : .refused,
                                  partnerID: partner, claimID: entry.claimID, bundleID: entry.bundleID, purpose: entry.purpose,
                                  documentDigests: [sha256.lowercased()], reason: matches ? nil : "digest-mismatch", transport: origin.transport,
                                  clientAddress: origin.clientAddress)
        if matches {
            try gateway.store.updateBundleState(entry.bundleID, to: .acknowledged, from: [.queued, .delivered, .downloaded], event: event)
        } else {
            try gateway.store.record(event)
        }
        return matches
    }

    public func mayAct(_ partner: PartnerID) -> Result<Void, Refusal> {
        guard let p = try? gateway.store.partner(partner) else {
            return .failure(Refusal(.unknownPartner, "Partner \(partner) is no longer onboarded."))
        }
        if case .fails(let r) = PartnerPolicy.mayAct(clock: clock).evaluate(p) { return .failure(r) }
        return .success(())
    }

    public func outbox(of partner: PartnerID) throws -> [OutboxEntry] {
        let available = BundleAvailable(clock: clock)
        return try gateway.store.bundles(partner: partner)
            .filter { available.evaluate($0) == .meets && $0.filePath.hasPrefix(gateway.home.outbox + "/") }
            .map(Self.entry)
    }

    public func bundle(_ id: UUID, of partner: PartnerID) throws -> OutboxEntry? {
        guard let b = try gateway.store.bundle(id), b.partnerID == partner,
              b.filePath.hasPrefix(gateway.home.outbox + "/"),
              BundleAvailable(clock: clock).evaluate(b) == .meets else { return nil }
        return Self.entry(b)
    }

    static func entry(_ b: BundleRecord) -> OutboxEntry {
        OutboxEntry(bundleID: b.id, size: b.fileSize, created: b.created, expires: b.expires, claimID: b.claimID,
                    purpose: b.purpose, filePath: b.filePath)
    }

    public func inboxDirectory(of partner: PartnerID) throws -> String {
        let dir = gateway.home.inbound(for: partner)
        try FileSystem.makeDirectory(dir, mode: 0o700)
        return dir
    }

    public func uploads(of partner: PartnerID) throws -> [UploadEntry] {
        try gateway.store.inboundReports(partner: partner)
            .map { UploadEntry(name: $0.fileName, size: $0.bytes, received: $0.received) }
    }

    public func record(_ event: TransferEvent) throws { try gateway.store.record(event) }

    public func downloadStarted(_ entry: OutboxEntry, partner: PartnerID, offset: Int64, origin: SessionOrigin) throws {
        try gateway.store.record(Self.started(entry, partner: partner, offset: offset, origin: origin, at: clock.now))
    }

    public func startDownload(_ id: UUID, of partner: PartnerID, origin: SessionOrigin,
                              offset: @escaping @Sendable (OutboxEntry) -> Int64?) throws -> DownloadStart {
        let clock = self.clock, outbox = gateway.home.outbox + "/"
        return try gateway.store.judgingBundle(id) { b in
            // Judged at the moment of the transaction, as the start is recorded.
            let now = clock.now
            guard let b, b.partnerID == partner, b.filePath.hasPrefix(outbox), BundleAvailable(clock: clock).evaluate(b) == .meets else {
                return (.unavailable, TransferEvent(time: now, actor: .partner(partner), action: .accessRefused, outcome: .refused, partnerID: partner,
                                                    reason: "\(Refusal.Reason.bundleUnavailable.code): \(id.uuidString.lowercased())",
                                                    transport: origin.transport, clientAddress: origin.clientAddress))
            }
            let entry = Self.entry(b)
            guard let at = offset(entry) else { return (.unsatisfiable(entry), nil) }
            return (.started(entry, offset: at), Self.started(entry, partner: partner, offset: at, origin: origin, at: now))
        }
    }

    static func started(_ entry: OutboxEntry, partner: PartnerID, offset: Int64, origin: SessionOrigin, at now: Date) -> TransferEvent {
        TransferEvent(time: now, actor: .partner(partner), action: .download, outcome: .started,
                      partnerID: partner, claimID: entry.claimID, bundleID: entry.bundleID,
                      purpose: entry.purpose, bytes: offset > 0 ? offset : nil,
                      reason: offset > 0 ? "resume" : nil,
                      transport: origin.transport, clientAddress: origin.clientAddress)
    }

    public func downloadEnded(_ entry: OutboxEntry, partner: PartnerID, bytes: Int64, complete: Bool, origin: SessionOrigin) throws {
        let event = TransferEvent(time: clock.now, actor: .partner(partner), action: .download,
                                  outcome: complete ? .success : .partial, partnerID: partner, claimID: entry.claimID,
                                  bundleID: entry.bundleID, purpose: entry.purpose, bytes: bytes,
                                  transport: origin.transport, clientAddress: origin.clientAddress)
        let logger = gateway.logger
        gateway.store.recordSoon(event, bundleState: complete ? (entry.bundleID, .downloaded, [.queued, .delivered]) : nil) { error in
            logger.error("recording the end of a download failed",
                         metadata: ["bundle.id": "\(entry.bundleID.uuidString.lowercased())", "error": "\(error)"])
        }
    }

    @discardableResult
    public func uploadCompleted(name: String, path: String, bytes: Int64, partner: PartnerID, origin: SessionOrigin) throws -> InboundReport {
        try gateway.store.record(TransferEvent(time: clock.now, actor: .partner(partner), action: .upload, outcome: .success,
                                               partnerID: partner, bytes: bytes, reason: nil,
                                               transport: origin.transport, clientAddress: origin.clientAddress))
        if let bundleID = Self.receiptBundleID(name) {
            return try receiptUploaded(bundleID, name: name, path: path, bytes: bytes, partner: partner, origin: origin)
        }
        return try gateway.processInbound(path: path, name: name, partner: partner, origin: origin, maxBytes: maxUploadBytes)
    }

    /// `<bundle-id>.receipt` (lowercase UUID): a receipt uploaded over SFTP.
    static func receiptBundleID(_ name: String) -> UUID? {
        guard name.hasSuffix(".receipt"), let id = UUID(uuidString: String(name.dropLast(8))),
              name == id.uuidString.lowercased() + ".receipt" else { return nil }
        return id
    }

    /// A receipt file holds the SHA-256 (hex) of the bundle file the partner received, as
    /// `sha256sum` prints it. It acknowledges the bundle exactly like `POST /v1/bundles/{id}/receipt`;
    /// the file itself is not kept (its digest is in the audit entry).
    private func receiptUploaded(_ bundleID: UUID, name: String, path: String, bytes: Int64, partner: PartnerID,
                                 origin: SessionOrigin) throws -> InboundReport {
        defer { unlink(path) }
        let text = bytes <= 4096 ? ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "") : ""
        let digest = text.split(whereSeparator: { $0 == " " || $0.isNewline }).first.map(String.init) ?? ""
        var report = InboundReport(id: UUID(), partnerID: partner, fileName: name, received: clock.now, bytes: bytes,
                                   state: .quarantined, transport: origin.transport, bundleID: bundleID, storedPath: "")
        guard digest.count == 64, digest.allSatisfy(\.isHexDigit) else {
            report.reason = "A receipt holds the bundle file's SHA-256 in hex, as `sha256sum FILE.p7m` prints it."
            try gateway.store.record(TransferEvent(time: clock.now, actor: .partner(partner), action: .receipt, outcome: .refused,
                                                   partnerID: partner, bundleID: bundleID, reason: "malformed-receipt",
                                                   transport: origin.transport, clientAddress: origin.clientAddress))
            return report
        }
        guard let entry = try bundle(bundleID, of: partner) else {
            report.reason = "No such bundle is available to you."
            try gateway.store.record(TransferEvent(time: clock.now, actor: .partner(partner), action: .receipt, outcome: .refused,
                                                   partnerID: partner, bundleID: bundleID, reason: Refusal.Reason.bundleUnavailable.code,
                                                   transport: origin.transport, clientAddress: origin.clientAddress))
            return report
        }
        if try acknowledge(entry, partner: partner, sha256: digest, origin: origin) {
            report.state = .accepted
            report.claimID = entry.claimID
            report.purpose = entry.purpose
        } else {
            report.reason = "That SHA-256 is not the bundle's: download it again and check it before acknowledging."
        }
        return report
    }
}
