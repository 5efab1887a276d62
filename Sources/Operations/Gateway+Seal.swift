import ClaimGateCore
import Envelope
import Foundation

/// What claims operations ask to share.
public struct SealOrder: Sendable {
    public var partner: String
    public var claimID: String
    public var purpose: String
    public var expiry: ExpirySpec
    public var consentReference: String?
    /// `--meta key=value` pairs; fields in the agreement's `masking` list are masked.
    public var metadata: [String: String]
    public var documents: [String]

    public init(partner: String, claimID: String, purpose: String, expiry: ExpirySpec,
                consentReference: String? = nil, metadata: [String: String] = [:], documents: [String]) {
        self.partner = partner; self.claimID = claimID; self.purpose = purpose; self.expiry = expiry
        self.consentReference = consentReference; self.metadata = metadata; self.documents = documents
    }
}

/// Where a sealed bundle goes.
public enum SealDestination: Sendable {
    /// A file the operator hands over; the gateway does not deliver it.
    case file(String)
    /// The partner's outbox, for delivery by push or pull.
    case outbox
}

extension Gateway {
    /// Checks the order against the partner's agreement and seals it. A refusal is recorded and
    /// leaves no file and no outbox entry.
    public func seal(_ order: SealOrder, to destination: SealDestination, by principal: Principal) throws -> BundleRecord {
        if case .outbox = destination {
            try authorize(.send, partnerNamed: order.partner, by: principal)
        } else {
            try authorize(.seal, partnerNamed: order.partner, by: principal)
        }
        let partner = try self.partner(order.partner)
        let created = Timestamp.wholeSeconds(clock.now)
        let bundleID = BundleID.random()
        func refuse(_ reason: EventReason, _ error: ClaimGateError) throws -> Never {
            try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: .sealRefused,
                                           outcome: .refused, partnerID: partner.id, claimID: validClaim(order.claimID),
                                           purpose: order.purpose, reason: reason, transport: principal.transport))
            logger.info("seal refused", metadata: ["partner.id": "\(partner.id)", "reason": "\(reason)"])
            throw error
        }

        // Arguments.
        let documents: [SourceDocument]
        do {
            guard validClaim(order.claimID) != nil else {
                throw ClaimGateError(.invalidArgument, "Claim id '\(order.claimID.prefix(64))' is not valid: use 1 to 128 letters, digits and . _ - / : characters.")
            }
            guard !order.documents.isEmpty else {
                throw ClaimGateError(.invalidArgument, "No documents given: name at least one file to share.")
            }
            guard order.documents.count <= BundleManifest.maxDocuments else {
                throw ClaimGateError(.invalidArgument, "\(order.documents.count) documents given: a bundle holds at most \(BundleManifest.maxDocuments); split them across bundles.")
            }
            documents = try order.documents.map(SourceDocument.init(path:))
            var names = Set<String>()
            for d in documents where !names.insert(d.name).inserted {
                throw ClaimGateError(.invalidArgument, "Two documents are named '\(d.name)': rename one, names must be unique in a bundle.")
            }
            try Masking.validateNames(order.metadata.keys.sorted())
        } catch let e as ClaimGateError {
            try refuse(EventReason(EventReason.Code(.invalidArgument)), e)
        }
        if case .file(let out) = destination, FileManager.default.fileExists(atPath: out) {
            try refuse(EventReason(EventReason.Code(.invalidArgument)), ClaimGateError(.invalidArgument, "\(out) already exists: choose another --out or remove it first."))
        }

        // The agreement's policy.
        // From the day a rotation takes effect (UTC, by the injected clock), the next certificate.
        let recipient = try Certificate(pem: partner.agreement.certificates.encryptionPEM(at: created))
        let expires = Timestamp.wholeSeconds(order.expiry.resolve(createdAt: created))
        let request = SealRequest(partner: partner, purpose: order.purpose, created: created, expires: expires,
                                  documents: documents.map { ($0.name, $0.mediaType) },
                                  encryptionCertificate: recipient.validity)
        if case .fails(let refusal) = SealPolicy.standard(clock: clock).evaluate(request) {
            try refuse(EventReason(refusal.reason), ClaimGateError(.policyRefused, refusal.message))
        }

        func recordFailure(_ reason: EventReason) throws {
            try store.record(TransferEvent(time: clock.now, actor: principal.actor, action: destination.isOutbox ? .queue : .seal,
                                           outcome: .failed, partnerID: partner.id, claimID: order.claimID, bundleID: bundleID,
                                           purpose: order.purpose, reason: reason, transport: principal.transport))
        }

        // Seal to a temporary file next to the destination, then commit it.
        let finalPath: String
        switch destination {
        case .file(let out): finalPath = FileSystem.absolute(out)
        case .outbox:
            try FileSystem.makeDirectory(home.outbox(for: partner.id), mode: 0o700)
            finalPath = home.outbox(for: partner.id) + "/" + bundleID.description + ".p7m"
        }
        let manifestBytes: Data
        let size: Int64
        do {
            let pipeline = SealPipeline(signer: identity.signing, signerKey: identity.signingKey,
                                        chain: [identity.ca], recipient: recipient)
            (manifestBytes, size) = try pipeline.sealFile(documents, to: finalPath, created: created) { entries in
                try BundleManifest(
                    bundleID: bundleID, claimID: order.claimID,
                    sender: .init(gatewayID: identity.gatewayID, signingCertificateSHA256: identity.signing.sha256Fingerprint),
                    recipient: .init(partnerID: partner.id.rawValue, encryptionCertificateSHA256: recipient.sha256Fingerprint),
                    agreementReference: partner.agreement.terms.reference, purpose: order.purpose,
                    consentReference: order.consentReference, created: created, expires: expires,
                    metadata: Masking.apply(partner.agreement.masking, to: order.metadata), documents: entries
                ).encoded()
            }
        } catch {
            let code = (error as? ClaimGateError)?.code ?? .io
            logger.info("seal failed", metadata: ["bundle.id": "\(bundleID.description)", "reason": "\(code)"])
            try recordFailure(EventReason(EventReason.Code(code)))
            throw error
        }

        let manifest = try BundleManifest.decode(manifestBytes)
        let record = BundleRecord(
            id: bundleID, partnerID: partner.id, claimID: order.claimID, purpose: order.purpose,
            state: destination.isOutbox ? .queued : .sealed, created: created, expires: expires,
            manifestJSON: manifestBytes, manifestSHA256: SHA256Hasher.hex(manifestBytes), filePath: finalPath,
            fileSize: size, agreementVersion: partner.version)
        do {
            let delivery = destination.isOutbox ? plannedDelivery(for: bundleID, partner: partner, at: created) : nil
            try store.insertBundle(record, delivery: delivery, event: TransferEvent(
                time: clock.now, actor: principal.actor, action: destination.isOutbox ? .queue : .seal,
                outcome: .success, partnerID: partner.id, claimID: order.claimID, bundleID: bundleID,
                purpose: order.purpose, documentDigests: manifest.documents.map(\.sha256), bytes: size, transport: principal.transport))
        } catch {
            unlink(finalPath)   // fail closed: no bundle exists without its record
            throw error
        }
        logger.info("bundle sealed", metadata: ["bundle.id": "\(bundleID.description)", "partner.id": "\(partner.id)", "bytes": "\(size)"])
        return record
    }

    private func validClaim(_ id: String) -> String? {
        let ok = (1...128).contains(id.utf8.count) && id.unicodeScalars.allSatisfy {
            ($0.properties.isAlphabetic || $0.properties.numericType != nil || "._-/:".unicodeScalars.contains($0)) && $0.isASCII
        }
        return ok ? id : nil
    }
}

extension SealDestination {
    var isOutbox: Bool { if case .outbox = self { return true } else { return false } }
}
