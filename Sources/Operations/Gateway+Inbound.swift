import ClaimGateCore
import Envelope
import Foundation

extension Gateway {
    /// Processes a file a partner uploaded: a report sealed to the gateway's encryption
    /// certificate and signed by a key chaining to the partner's trust anchor. Accepted reports
    /// keep their documents under `HOME/inbound-reports/<id>/`; anything else is quarantined in
    /// `HOME/quarantine/` with its reason and never becomes visible as a document.
    /// - Parameters:
    ///   - path: the uploaded file; moved away by this call.
    ///   - name: the name it was uploaded under.
    @discardableResult
    public func processInbound(path: String, name: String, partner id: PartnerID, origin: SessionOrigin,
                               maxBytes: Int64 = 512 << 20) throws -> InboundReport {
        let reportID = UUID()
        let now = clock.now
        let bytes = Int64((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        var report = InboundReport(id: reportID, partnerID: id, fileName: name, received: now, bytes: bytes,
                                   state: .quarantined, transport: origin.transport, storedPath: "")
        let clientAddress = origin.clientAddress
        let staging = home.root + "/inbound-reports/.work-" + reportID.uuidString.lowercased()
        defer { try? FileManager.default.removeItem(atPath: staging) }
        do {
            guard bytes <= maxBytes else {
                throw ClaimGateError(.bundleRejected, "The upload is \(bytes) bytes, more than the \(maxBytes)-byte limit.")
            }
            let partner = try self.partner(id.rawValue)
            let anchors = try Certificate.parseAll(pem: partner.agreement.certificates.trustAnchorPEM)
            let crls = try partner.agreement.certificates.crlPEM.map(CertificateRevocationList.parseAll(pem:)) ?? []
            let encryption = try identity.encryption()
            let key = try PrivateKey(pemFile: home.identity + "/" + GatewayIdentity.File.encryptionKey)
            try FileSystem.makeDirectory(staging, mode: 0o700)
            let bundle = try BundleUnpacking(bundle: path, recipient: encryption, key: key, trust: anchors, crls: crls,
                                             clock: clock, staging: staging)
            let m = bundle.manifest
            report.bundleID = m.bundleID
            report.claimID = m.claimID
            report.purpose = m.purpose
            report.manifestJSON = bundle.manifestBytes
            guard m.sender.gatewayID == id.rawValue else {
                throw ClaimGateError(.bundleRejected, "The report names '\(m.sender.gatewayID.prefix(64))' as its sender, but \(id) uploaded it.")
            }
            guard partner.agreement.terms.purposes.contains(m.purpose) else {
                throw ClaimGateError(.bundleRejected, "Purpose '\(m.purpose.prefix(64))' is not allowed by agreement \(partner.agreement.terms.reference).")
            }
            if let doc = m.documents.first(where: { !partner.agreement.terms.documentTypes.contains($0.mediaType) }) {
                throw ClaimGateError(.bundleRejected, "Document '\(doc.name)' is \(doc.mediaType), which agreement \(partner.agreement.terms.reference) does not allow.")
            }
            if let earlier = try store.inboundReports(acceptedBundle: m.bundleID).first {
                throw ClaimGateError(.bundleRejected, "Report \(m.bundleID.description) was already accepted (inbound \(earlier.id.uuidString.lowercased())): a copy is not stored twice.")
            }
            try bundle.extract()
            // The declared media types must match the content.
            for doc in m.documents {
                let fh = FileHandle(forReadingAtPath: staging + "/documents/" + doc.name)
                let sniffed = MediaTypeSniffer.sniff(fh?.readData(ofLength: MediaTypeSniffer.prefixLength) ?? Data())
                try? fh?.close()
                guard sniffed == doc.mediaType else {
                    throw ClaimGateError(.bundleRejected, "Document '\(doc.name)' is declared \(doc.mediaType) but its content is \(sniffed).")
                }
            }
            // Keep the sealed original with the documents, as evidence.
            try FileSystem.commit(path, to: staging + "/report.p7m")
            let final = home.root + "/inbound-reports/" + reportID.uuidString.lowercased()
            guard rename(staging, final) == 0 else { throw ClaimGateError(.io, "Cannot store the report in \(final).") }
            report.state = .accepted
            report.storedPath = final
            do {
                try store.insertInbound(report, event: event(report, .inboundAccepted, .success, clientAddress))
            } catch {
                try? FileSystem.commit(final + "/report.p7m", to: path)
                try? FileManager.default.removeItem(atPath: final)
                // The store itself cannot be written: not a verdict on the report. It goes back to
                // the inbox unprocessed and the caller says the upload failed.
                if let e = error as? ClaimGateError, e.code == .auditUnavailable { throw e }
                // Otherwise another session accepted the same report a moment earlier (the unique
                // index): quarantine this copy.
                throw ClaimGateError(.bundleRejected, "Report \(m.bundleID.description) was already accepted: a copy is not stored twice.")
            }
            logger.info("inbound report accepted", metadata: ["partner.id": "\(id)", "inbound.id": "\(reportID.uuidString.lowercased())"])
        } catch {
            // An unwritable store is no verdict on the report: leave it unprocessed and fail.
            if let e = error as? ClaimGateError, e.code == .auditUnavailable { throw e }
            var reason = (error as? ClaimGateError)?.message ?? (error as? EnvelopeError)?.message ?? "The report could not be processed."
            if reason.contains("does not chain") {
                reason = "The report's signer does not chain to \(id)'s trust anchor in its agreement."
            }
            let quarantine = home.root + "/quarantine"
            try FileSystem.makeDirectory(quarantine, mode: 0o700)
            let target = quarantine + "/" + reportID.uuidString.lowercased() + ".upload"
            if FileManager.default.fileExists(atPath: path) { try FileSystem.commit(path, to: target) }
            report.state = .quarantined
            report.reason = reason
            report.storedPath = target
            try store.insertInbound(report, event: event(report, .inboundQuarantined, .refused, clientAddress))
            logger.info("inbound report quarantined", metadata: ["partner.id": "\(id)", "inbound.id": "\(reportID.uuidString.lowercased())"])
        }
        return report
    }

    private func event(_ r: InboundReport, _ action: TransferEvent.Action, _ outcome: TransferEvent.Outcome,
                       _ clientAddress: String) -> TransferEvent {
        let digests = (r.manifestJSON.flatMap { try? BundleManifest.decode($0) })?.documents.map(\.sha256) ?? []
        return TransferEvent(time: clock.now, actor: .partner(r.partnerID), action: action, outcome: outcome,
                             partnerID: r.partnerID, claimID: r.claimID, bundleID: r.bundleID, purpose: r.purpose,
                             documentDigests: digests, bytes: r.bytes, reason: r.reason.map { EventReason(.reportRejected, $0) },
                             transport: r.transport, clientAddress: clientAddress)
    }

    /// One processed upload, by id, as `inbox show` shows it.
    public func inboundReport(_ raw: String, by principal: Principal) throws -> InboundReport {
        try authorize(.inboxShow, partner: (try? inboundReport(raw))?.partnerID, by: principal)
        return try inboundReport(raw)
    }

    /// One document of an accepted report, to be copied out of the gateway (the operator API
    /// streams it): an `inbox export` of that one document, recorded first (`inbound-exported`
    /// with its digest and who asked), so nothing leaves unrecorded.
    /// - Returns: the stored file's path and size.
    public func exportInboundDocument(_ raw: String, named name: String, by principal: Principal) throws -> (path: String, size: Int64) {
        try authorize(.inboxExport, partner: (try? inboundReport(raw))?.partnerID, by: principal)
        let r = try inboundReport(raw)
        guard r.state == .accepted else {
            throw ClaimGateError(.bundleRejected, "Inbound report \(raw) is \(r.state.rawValue): it has no documents to export.")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: r.storedPath + "/documents")
        guard names.contains(name), !name.contains("/") else {
            throw ClaimGateError(.unknownBundle, "Inbound report \(raw) has no document '\(name.prefix(64))': see its documents with `claimgate inbox show \(raw)`.")
        }
        let path = r.storedPath + "/documents/" + name
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        try recordExport(r, by: principal, digests: (r.manifestJSON.flatMap { try? BundleManifest.decode($0) })?.documents.filter { $0.name == name }.map(\.sha256) ?? [])
        return (path, (attributes[.size] as? NSNumber)?.int64Value ?? 0)
    }

    /// An accepted report's manifest (`manifest.json`, as the partner sealed it, metadata masked
    /// as received), for an export through the operator API: the document downloads and this
    /// are what `inbox export` writes locally. Recorded as `inbound-exported`.
    public func exportInboundManifest(_ raw: String, by principal: Principal) throws -> (path: String, size: Int64) {
        try authorize(.inboxExport, partner: (try? inboundReport(raw))?.partnerID, by: principal)
        let r = try inboundReport(raw)
        guard r.state == .accepted else {
            throw ClaimGateError(.bundleRejected, "Inbound report \(raw) is \(r.state.rawValue): it has no documents to export.")
        }
        let path = r.storedPath + "/manifest.json"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        try recordExport(r, by: principal, digests: [])   // the manifest, no document
        return (path, (attributes[.size] as? NSNumber)?.int64Value ?? 0)
    }

    /// Records `inbound-exported` for (part of) an accepted report, as the principal acting;
    /// `digests` narrows the documents named (all of the report's by default).
    private func recordExport(_ r: InboundReport, by principal: Principal, digests: [String]? = nil) throws {
        var recorded = event(r, .inboundExported, .success, "")
        recorded.actor = principal.actor
        recorded.transport = principal.transport
        recorded.clientAddress = nil
        recorded.reason = nil
        if let digests { recorded.documentDigests = digests }
        try store.record(recorded)
    }

    /// One processed upload, by id.
    public func inboundReport(_ raw: String) throws -> InboundReport {
        guard let id = UUID(uuidString: raw), let r = try store.inboundReports(id: id).first else {
            throw ClaimGateError(.unknownBundle, "No inbound report '\(raw.prefix(64))': see `claimgate inbox list`.")
        }
        return r
    }

    /// Copies an accepted report's documents (and manifest) to `directory`, never overwriting.
    /// Recorded first (`inbound-exported`, with the documents' digests and who exported them):
    /// when the audit trail cannot be written, nothing is copied.
    public func exportInbound(_ raw: String, to directory: String, by principal: Principal) throws -> [String] {
        try authorize(.inboxExport, partner: (try? inboundReport(raw))?.partnerID, by: principal)
        let r = try inboundReport(raw)
        switch r.state {
        case .accepted: break
        case .purged:
            throw ClaimGateError(.bundleRejected, "Inbound report \(raw) was purged after its retention period: its documents were destroyed (see `claimgate audit impact`).")
        case .quarantined:
            throw ClaimGateError(.bundleRejected, "Inbound report \(raw) was quarantined (\(r.reason ?? "no reason")): it has no documents to export.")
        }
        let out = FileSystem.absolute(directory)
        try FileSystem.makeDirectory(out, mode: 0o700)
        let names = try FileManager.default.contentsOfDirectory(atPath: r.storedPath + "/documents").sorted()
        for n in names + ["manifest.json"] where FileManager.default.fileExists(atPath: out + "/" + n) {
            throw ClaimGateError(.invalidArgument, "\(out)/\(n) already exists: export into an empty folder.")
        }
        try recordExport(r, by: principal)
        for n in names {
            try FileManager.default.copyItem(atPath: r.storedPath + "/documents/" + n, toPath: out + "/" + n)
        }
        try FileManager.default.copyItem(atPath: r.storedPath + "/manifest.json", toPath: out + "/manifest.json")
        return names
    }
}
