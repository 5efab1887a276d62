import ClaimGateCore
import Envelope
import Foundation

/// Agreements in force over time: new versions, suspension, removal, recall and purge.
extension Gateway {
    /// Validates the agreement file at `path` and stores it as the partner's next version.
    /// The partner keeps its status; nothing is stored when a check fails (the refusal is
    /// recorded). When a second operator must agree (four eyes), the validated agreement, with
    /// the files it names as read now, is kept as a pending change against the version in force.
    /// - Parameters:
    ///   - path: the agreement file's absolute path (relative: to the working directory).
    ///   - sent: the agreement file and every file it names, as a client sent them, by absolute
    ///     path (the operator API): nothing is read from disk. nil reads them from disk.
    ///   - expected: the partner the caller means (`PUT /v1/partners/{id}`): an agreement for
    ///     another id is refused (`invalid-argument`).
    ///   - principal: who asks.
    @discardableResult
    public func updatePartner(agreementFile path: String, files sent: InputFiles? = nil, expecting expected: String? = nil,
                              by principal: Principal) throws -> ChangeOutcome<Partner> {
        try authorize(.partnerUpdate, partner: AgreementLoader.peekPartnerID(path: path, files: sent), by: principal)
        return try recordingRefusal(ofAgreementFile: path, files: sent, by: principal) {
            let files = sent ?? InputFiles()
            let (agreement, source) = try AgreementLoader.load(path: path, files: files, clock: clock)
            if let expected, agreement.id.rawValue != expected {
                throw ClaimGateError(.invalidArgument, "The agreement file is for partner \(agreement.id), not \(EventReason.bounded(String(expected.prefix(64)))): send it to /v1/partners/\(agreement.id), or send \(EventReason.bounded(String(expected.prefix(64))))'s agreement.")
            }
            try authorize(.partnerUpdate, partner: agreement.id, by: principal)
            let current = try partner(agreement.id.rawValue)
            try checkNewVersion(agreement, of: current)
            let reason = Self.changes(from: current.agreement, to: agreement)
            if try needsSecondOperator(.partnerUpdate, by: principal) {
                return .pending(try propose(.partnerUpdate, partner: current.id, target: current.id.rawValue,
                                            summary: "update version \(current.version): \(reason)",
                                            payload: .agreement(path: FileSystem.absolute(path), files: files.contents, version: current.version),
                                            by: principal))
            }
            return .applied(try storeAgreementVersion(agreement, source: source, reason: reason, by: principal))
        }
    }

    /// Rolls a partner's encryption certificate over to the one in `encryptionFile`, from the
    /// start of `from` (UTC) or now, as the partner's next agreement version. Any refusal (the
    /// certificate's checks, the shared-anchor rule) is recorded. When a second operator must
    /// agree (four eyes), the checked rotation, with the certificate file as read now, is kept as
    /// a pending change against the version in force.
    /// - Parameter sent: the certificate file as a client sent it, by absolute path (the operator
    ///   API): nothing is read from disk. nil reads it from disk.
    /// - Returns: the partner as stored, and the fingerprint of the certificate rotated to.
    @discardableResult
    public func rotateEncryption(of id: String, encryptionFile: String, files sent: InputFiles? = nil, from: CalendarDay?,
                                 by principal: Principal) throws -> ChangeOutcome<Rotation> {
        try authorize(.partnerRotate, partnerNamed: id, by: principal)
        let current = try partner(id)
        return try recordingRefusal(of: current.id, by: principal) {
            let files = sent ?? InputFiles()
            let r = try rotation(of: current, encryptionFile: encryptionFile, files: files, from: from)
            if try needsSecondOperator(.partnerRotate, by: principal) {
                return .pending(try propose(.partnerRotate, partner: current.id, target: current.id.rawValue,
                                            summary: "version \(current.version): \(r.note)",
                                            payload: .rotation(encryption: FileSystem.absolute(encryptionFile), files: files.contents,
                                                               from: from, version: current.version), by: principal))
            }
            let p = try storeAgreementVersion(r.agreement, source: r.source, reason: r.note, by: principal)
            return .applied(Rotation(partner: p, fingerprint: r.fingerprint))
        }
    }

    /// The next agreement version of a rotation, checked: the certificate's checks
    /// (`AgreementLoader.rotated`) and the shared-anchor rule.
    func rotation(of current: Partner, encryptionFile: String, files: InputFiles, from: CalendarDay?) throws
        -> (agreement: PartnerAgreement, source: String, note: String, fingerprint: String) {
        let rotated = try AgreementLoader.rotated(current.agreement, encryptionFile: encryptionFile, files: files, from: from, clock: clock)
        try checkNewVersion(rotated, of: current)
        let c = rotated.certificates
        let fingerprint = try Certificate(pem: c.nextEncryptionPEM ?? c.encryptionPEM).sha256Fingerprint
        let note = "rotate: encryption \(fingerprint) from \(c.nextEncryptionFrom?.description ?? "now")"
        return (rotated, "# claimgate partner rotate\n" + note + "\n", note, fingerprint)
    }

    /// Stores an agreement already loaded and validated as the partner's next version, at once:
    /// for the shell and the gateway's own tools (see `addPartner(_:source:by:)`).
    /// - Parameter reason: what changed, for the audit entry.
    @discardableResult
    public func updatePartner(_ agreement: PartnerAgreement, source: String, reason: String, by principal: Principal) throws -> Partner {
        try authorize(.partnerUpdate, partner: agreement.id, by: principal)
        try requireNoSecondOperator(.partnerUpdate, by: principal)
        return try storeAgreementVersion(agreement, source: source, reason: reason, by: principal)
    }

    /// What a new agreement version needs beyond its own checks: a partner not removed, and a
    /// trust anchor of its own.
    func checkNewVersion(_ agreement: PartnerAgreement, of current: Partner) throws {
        guard current.status != .removed else {
            throw ClaimGateError(.invalidArgument, "Partner \(current.id) was removed; onboard it under a new id if it comes back.")
        }
        try requireDistinctTrustAnchor(agreement)
    }

    /// Stores the next agreement version, for an update or a rotation already authorised
    /// (for an approved change, naming it and its proposer, with the approval in the same
    /// transaction, and only over the version it was proposed against).
    func storeAgreementVersion(_ agreement: PartnerAgreement, source: String, reason: String, by principal: Principal,
                               approval: Approval? = nil, replacing version: Int? = nil) throws -> Partner {
        try requireDistinctTrustAnchor(agreement)
        let p = try store.addAgreementVersion(agreement, source: source, at: clock.now, event: TransferEvent(
            time: clock.now, actor: principal.actor, action: .partnerUpdated, outcome: .success,
            partnerID: agreement.id, reason: EventReason(.agreementChanged, approval?.attributed(reason) ?? reason), transport: principal.transport),
            replacing: version, settling: approval?.settlement)
        logger.info("partner updated", metadata: ["partner.id": "\(agreement.id)", "version": "\(p.version)"])
        return p
    }

    /// Which top-level parts of an agreement changed, e.g. `terms,certificates`.
    static func changes(from a: PartnerAgreement, to b: PartnerAgreement) -> String {
        var changed: [String] = []
        if a.name != b.name || a.role != b.role { changed.append("identity") }
        if a.terms != b.terms { changed.append("terms") }
        if a.certificates != b.certificates { changed.append("certificates") }
        if a.sshAuthorizedKeys != b.sshAuthorizedKeys { changed.append("ssh") }
        if a.delivery != b.delivery { changed.append("delivery") }
        if a.masking != b.masking { changed.append("masking") }
        return changed.isEmpty ? "no-change" : changed.joined(separator: ",")
    }

    /// Suspends a partner: from the next request on (within a second on open SFTP sessions and
    /// HTTPS connections) it can list, download, upload and receive nothing; pushes wait.
    public func suspendPartner(_ raw: String, reason: String?, by principal: Principal) throws {
        try authorize(.partnerSuspend, partnerNamed: raw, by: principal)
        let p = try partner(raw)
        try store.setPartnerStatus(p.id, to: .suspended, from: [.active], event: TransferEvent(
            time: clock.now, actor: principal.actor, action: .partnerSuspended, outcome: .success,
            partnerID: p.id, reason: reason.map { EventReason(.operatorNote, Self.auditText($0)) }, transport: principal.transport))
    }

    /// Lifts a suspension.
    /// - Parameter reason: why (kept in the audit trail; no personal data).
    public func resumePartner(_ raw: String, reason: String? = nil, by principal: Principal) throws {
        try authorize(.partnerResume, partnerNamed: raw, by: principal)
        let p = try partner(raw)
        try store.setPartnerStatus(p.id, to: .active, from: [.suspended], event: TransferEvent(
            time: clock.now, actor: principal.actor, action: .partnerResumed, outcome: .success,
            partnerID: p.id, reason: reason.map { EventReason(.operatorNote, Self.auditText($0)) }, transport: principal.transport))
    }

    /// Removes a partner for good (its history stays). Refused while it still has bundles waiting
    /// to be delivered or pulled, unless `force`; pending pushes are cancelled. When a second
    /// operator must agree (four eyes), the checked removal is kept as a pending change.
    @discardableResult
    public func removePartner(_ raw: String, force: Bool, reason: String?, by principal: Principal) throws -> ChangeOutcome<PartnerID> {
        try authorize(.partnerRemove, partnerNamed: raw, by: principal)
        let p = try partner(raw)
        try checkRemoval(p, force: force)
        if try needsSecondOperator(.partnerRemove, by: principal) {
            return .pending(try propose(.partnerRemove, partner: p.id, target: p.id.rawValue,
                                        summary: "remove" + (force ? " --force" : "") + (reason.map { ": " + Self.auditText($0) } ?? ""),
                                        payload: .removal(force: force, reason: reason.map(Self.auditText)), by: principal))
        }
        try applyRemoval(p.id, force: force, reason: reason, by: principal)
        return .applied(p.id)
    }

    /// What a removal checks: the partner is not removed already, and nothing waits for it
    /// unless `force`.
    /// - Returns: how many bundles wait.
    @discardableResult
    func checkRemoval(_ p: Partner, force: Bool) throws -> Int {
        guard p.status != .removed else {
            throw ClaimGateError(.invalidArgument, "Partner \(p.id) is removed already.")
        }
        let waiting = try store.pendingBundleCount(of: p.id, now: clock.now)
        if waiting > 0, !force {
            throw ClaimGateError(.invalidArgument, "Partner \(p.id) still has \(waiting) bundle(s) waiting to be delivered or pulled: wait, recall them, or use --force.")
        }
        return waiting
    }

    /// Removes a checked partner, recorded as `partner-removed` (for an approved change, naming
    /// it and its proposer, with the approval in the same transaction).
    func applyRemoval(_ id: PartnerID, force: Bool, reason: String?, by principal: Principal, approval: Approval? = nil) throws {
        let waiting = try store.pendingBundleCount(of: id, now: clock.now)
        let note = reason.map(Self.auditText) ?? (waiting > 0 ? "forced: \(waiting) waiting" : nil)
        try store.setPartnerStatus(id, to: .removed, from: [.active, .suspended], event: TransferEvent(
            time: clock.now, actor: principal.actor, action: .partnerRemoved, outcome: .success,
            partnerID: id, reason: (approval.map { $0.attributed(note) } ?? note).map { EventReason(.operatorNote, $0) },
            transport: principal.transport), settling: approval?.settlement)
    }

    /// Recalls a bundle: from now on it is neither listed nor served, and a pending push is cancelled.
    public func recall(bundle raw: String, reason: String, by principal: Principal) throws -> BundleRecord {
        let found = try BundleID(lenient: raw).flatMap { try store.bundle($0) }
        try authorize(.bundleRecall, partner: found?.partnerID, by: principal)
        guard let b = found else {
            throw ClaimGateError(.unknownBundle, "No bundle '\(raw.prefix(40))': see `claimgate bundle list`.")
        }
        let id = b.id
        try store.recallBundle(id, event: TransferEvent(
            time: clock.now, actor: principal.actor, action: .recall, outcome: .success, partnerID: b.partnerID,
            claimID: b.claimID, bundleID: b.id, purpose: b.purpose, reason: EventReason(.operatorNote, Self.auditText(reason)), transport: principal.transport))
        logger.info("bundle recalled", metadata: ["bundle.id": "\(id.description)"])
        return try store.bundle(id) ?? b
    }

    /// A free-text reason as kept in the audit trail: one line, at most 200 characters. Admins
    /// are told (in `--help`) not to put personal data in it.
    static func auditText(_ text: String) -> String {
        String(text.split(whereSeparator: \.isNewline).joined(separator: " ").prefix(200))
    }

    /// What one purge pass destroyed.
    public struct PurgeResult: Sendable {
        public var bundles: [BundleID] = []
        public var inboundReports: [UUID] = []
        public var bytes: Int64 = 0
        /// Scratch files left by an interrupted upload or inbound processing (a crash, a kill).
        public var scratch = 0
        /// Manifests of records purged before purges scrubbed them, scrubbed now.
        public var scrubbedManifests = 0
        /// Pending changes past their 7 days, marked expired now.
        public var expiredChanges: [PendingChangeID] = []
    }

    /// Removes what an interrupted upload (`inbound/<partner>/.upload-*`) or inbound processing
    /// (`inbound-reports/.work-*`, which may hold decrypted, unverified content) left behind, once
    /// it is older than `cutoff` (so nothing in progress is touched).
    func sweepScratch(olderThan cutoff: Date) -> Int {
        let fm = FileManager.default
        var removed = 0
        func sweep(_ dir: String, prefix: String) {
            for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(prefix) {
                let path = dir + "/" + name
                guard let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < cutoff else { continue }
                if (try? fm.removeItem(atPath: path)) != nil { removed += 1 }
            }
        }
        sweep(home.root + "/inbound-reports", prefix: ".work-")
        for partner in (try? fm.contentsOfDirectory(atPath: home.inbound)) ?? [] {
            sweep(home.inbound + "/" + partner, prefix: ".upload-")
        }
        if removed > 0 { logger.warning("purge removed interrupted scratch files", metadata: ["count": "\(removed)"]) }
        return removed
    }

    /// Destroys the files of expired and recalled bundles, and the documents of inbound reports
    /// received more than `inboundRetentionDays` ago. Each destruction is recorded with the
    /// SHA-256 of what was destroyed, and the record is marked purged.
    @discardableResult
    public func purge(inboundRetentionDays: Int = 90, by principal: Principal) throws -> PurgeResult {
        try authorize(.purge, by: principal)
        var result = PurgeResult()
        result.expiredChanges = try expirePendingChanges().map(\.id)
        let now = clock.now
        for b in try store.bundlesToPurge(now: now) {
            // Only files in the gateway's own outbox are ever deleted.
            guard b.filePath.hasPrefix(home.outbox + "/") else {
                logger.warning("purge skipped a bundle outside the outbox", metadata: ["bundle.id": "\(b.id.description)"])
                continue
            }
            let digest = try? fileDigest(ofBundle: b.id, at: b.filePath)
            if unlink(b.filePath) != 0, errno != ENOENT {
                throw ClaimGateError(.io, "Cannot delete \(b.filePath): \(String(cString: strerror(errno))). Fix its permissions and run `claimgate purge` again.")
            }
            FileSystem.syncDirectory(of: b.filePath)
            let why: EventReason.Code.Note = b.state == .recalled ? .recalled : .expired
            try store.markPurged(b.id, manifest: Self.purgedManifest(b.manifestJSON), event: TransferEvent(
                time: clock.now, actor: principal.actor, action: .purge, outcome: .success, partnerID: b.partnerID, claimID: b.claimID,
                bundleID: b.id, purpose: b.purpose, documentDigests: digest.map { [$0] } ?? [], bytes: b.fileSize,
                reason: EventReason(why), transport: principal.transport))
            result.bundles.append(b.id)
            result.bytes += b.fileSize
        }
        let cutoff = now.addingTimeInterval(-Double(inboundRetentionDays) * 86_400)
        for r in try store.inboundReportsToPurge(receivedBefore: cutoff) {
            let report = r.storedPath + "/report.p7m"
            let digest = (try? SHA256Hasher.hex(file: report)) ?? (try? SHA256Hasher.hex(file: r.storedPath))
            do { try FileManager.default.removeItem(atPath: r.storedPath) } catch {
                if FileManager.default.fileExists(atPath: r.storedPath) {
                    throw ClaimGateError(.io, "Cannot delete \(r.storedPath): \(error.localizedDescription)")
                }
            }
            FileSystem.syncDirectory(of: r.storedPath)
            try store.markInboundPurged(r.id, manifest: r.manifestJSON.flatMap(Self.purgedManifest), event: TransferEvent(
                time: clock.now, actor: principal.actor, action: .purge, outcome: .success, partnerID: r.partnerID, claimID: r.claimID,
                bundleID: r.bundleID, purpose: r.purpose, documentDigests: digest.map { [$0] } ?? [], bytes: r.bytes,
                reason: EventReason(.inboundRetention), transport: principal.transport))
            result.inboundReports.append(r.id)
        }
        // Records purged before purges scrubbed manifests.
        for old in try store.purgedManifestsWithMetadata() {
            guard let scrubbed = Self.purgedManifest(old.manifest) else { continue }
            try store.replacePurgedManifest(old.table, id: old.id, with: scrubbed)
            result.scrubbedManifests += 1
        }
        result.scratch = sweepScratch(olderThan: now.addingTimeInterval(-3_600))
        if !result.bundles.isEmpty || !result.inboundReports.isEmpty {
            logger.info("purged", metadata: ["bundles": "\(result.bundles.count)", "inbound": "\(result.inboundReports.count)",
                                             "bytes": "\(result.bytes)"])
        }
        return result
    }

    /// A stored manifest with its metadata values removed (`BundleManifest.purged`); nil when
    /// it cannot be read (then it is left as it is: it cannot be scrubbed without its format).
    static func purgedManifest(_ json: Data) -> Data? {
        guard let m = try? BundleManifest.decode(json) else { return nil }
        return try? m.purged().encoded()
    }
}
