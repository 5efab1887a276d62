import ClaimGateCore
import Foundation
import Envelope
import HTTPS
import SFTP

extension Gateway {
    /// The pending delivery to create for a bundle sealed into `partner`'s outbox, if the
    /// partner receives pushes.
    func plannedDelivery(for bundleID: BundleID, partner: Partner, at: Date) -> Delivery? {
        if let t = partner.agreement.delivery.pushSFTP {
            return Delivery(bundleID: bundleID, partnerID: partner.id, transport: .sftp,
                            target: "sftp://\(t.user)@\(t.host):\(t.port)\(t.path)", created: at)
        }
        if let t = partner.agreement.delivery.pushHTTPS {
            return Delivery(bundleID: bundleID, partnerID: partner.id, transport: .https, target: t.url, created: at)
        }
        return nil
    }

    /// The delivery of a bundle, if it has one.
    public func delivery(of bundleID: BundleID) throws -> Delivery? {
        try store.deliveries(bundle: bundleID).first
    }

    /// Makes one attempt at a pending delivery and records its outcome.
    /// - Returns: the delivery as it stands after the attempt.
    @discardableResult
    public func attempt(_ d: Delivery, retry: RetryPolicy = RetryPolicy()) throws -> Delivery {
        var d = d
        let now = clock.now
        d.attempts += 1
        d.lastAttemptAt = now
        guard let bundle = try store.bundle(d.bundleID), let partner = try? self.partner(d.partnerID.rawValue) else {
            d.state = .cancelled
            d.lastErrorCode = EventReason.Code.Note.unknownBundleOrPartner.rawValue
            d.lastError = "The bundle or its partner is no longer known to the gateway."
            try store.recordAttempt(d, event: TransferEvent(time: now, actor: .system, action: .delivery, outcome: .failed,
                                                            partnerID: d.partnerID, bundleID: d.bundleID,
                                                            reason: d.lastErrorCode.map { EventReason(EventReason.Code(rawValue: $0) ?? EventReason.Code(.unclassified)) },
                                                            transport: d.transport))
            return d
        }
        // A bundle no longer available is not pushed.
        if case .fails(let r) = BundleAvailable(clock: clock).evaluate(bundle) {
            d.state = .cancelled
            d.lastErrorCode = r.reason.code
            d.lastError = r.message
            try store.recordAttempt(d, event: event(d, bundle, .refused, reason: EventReason(r.reason)))
            return d
        }
        // A suspended partner or an ended agreement gets nothing, not even what was queued before.
        if case .fails(let r) = PartnerPolicy.mayAct(clock: clock).evaluate(partner) {
            d.state = r.reason == .agreementEnded ? .cancelled : .pending
            d.lastErrorCode = r.reason.code
            d.lastError = r.message
            try store.recordAttempt(d, event: event(d, bundle, .refused, reason: EventReason(r.reason)))
            return d
        }
        // Purpose limitation holds for pushes too: a bundle whose purpose or one of whose document
        // types the agreement no longer allows is not pushed.
        if case .fails(let r) = BundleWithinAgreement(partner.agreement.terms).evaluate(bundle) {
            d.state = .cancelled
            d.lastErrorCode = r.reason.code
            d.lastError = r.message
            try store.recordAttempt(d, event: event(d, bundle, .refused, reason: EventReason(r.reason)))
            return d
        }
        // Recorded before anything leaves: if the audit trail cannot be written, nothing is sent
        // (the delivery stays as it was and the error reaches the caller).
        try store.record(event(d, bundle, .started))
        do {
            let bytes = try push(bundle, to: partner, over: d.transport)
            d.state = .delivered
            d.deliveredAt = clock.now
            d.lastErrorCode = nil
            d.lastError = nil
            try store.recordAttempt(d, event: event(d, bundle, .success, bytes: bytes))
            logger.info("bundle delivered", metadata: ["bundle.id": "\(bundle.id.description)", "partner.id": "\(d.partnerID)"])
        } catch let e as PushError {
            d.lastErrorCode = e.code.rawValue
            d.lastError = e.message
            // A wrong host key or server certificate, a refusal, or a different file already
            // there needs an admin, not a retry; everything else is retried.
            if !e.isRetryable || d.attempts >= retry.maxAttempts { d.state = .failed }
            if e.code == .noTarget { d.state = .cancelled }
            try store.recordAttempt(d, event: event(d, bundle, .failed, reason: EventReason(EventReason.Code(e.code))))
            logger.info("delivery failed", metadata: ["bundle.id": "\(bundle.id.description)", "reason": "\(e.code.rawValue)"])
        }
        return d
    }

    /// Attempts every pending delivery that is due now.
    /// - Returns: how many were attempted.
    @discardableResult
    public func deliverDue(retry: RetryPolicy) throws -> Int {
        let due = try store.deliveries(states: [.pending]).filter { retry.isDue($0, now: clock.now) }
        for d in due { try attempt(d, retry: retry) }
        return due.count
    }

    /// Pushes the bundle file over the delivery's transport, to the target the agreement names now.
    /// - Returns: the bytes sent.
    private func push(_ bundle: BundleRecord, to partner: Partner, over transport: Transport) throws -> Int64 {
        let name = bundle.id.description + ".p7m"
        switch transport {
        case .sftp:
            guard let target = partner.agreement.delivery.pushSFTP else {
                throw PushError(.noTarget, "The agreement no longer has delivery.push.sftp.")
            }
            let client = SFTPPushClient(target: target, clientKeyPath: home.identity + "/" + GatewayIdentity.File.sshClient)
            return try client.push(localPath: bundle.filePath, remoteName: name)
        case .https:
            guard let target = partner.agreement.delivery.pushHTTPS else {
                throw PushError(.noTarget, "The agreement no longer has delivery.push.https.")
            }
            let anchors: [[UInt8]]
            let chain: [[UInt8]]
            let key: [UInt8]
            let digest: String
            do {
                anchors = try Certificate.parseAll(pem: partner.agreement.certificates.trustAnchorPEM).map(\.der)
                chain = [try identity.tls().der, identity.ca.der]
                key = Array(try Data(contentsOf: URL(fileURLWithPath: home.identity + "/" + GatewayIdentity.File.tlsKey)))
                digest = try fileDigest(ofBundle: bundle.id, at: bundle.filePath)
            } catch {
                throw PushError(.transfer, "Cannot prepare the HTTPS push: \(error)")
            }
            let client = HTTPSPushClient(configuration: .init(url: target.url, trustAnchorsDER: anchors,
                                                              clientCertificateChainDER: chain, clientPrivateKeyPEM: key))
            let path = bundle.filePath, id = bundle.id
            return try Blocking.run { try await client.push(localPath: path, bundleID: id, sha256Hex: digest) }
        case .cli, .operatorAPI:
            throw PushError(.noTarget, "Deliveries go over sftp or https.")
        }
    }

    private func event(_ d: Delivery, _ b: BundleRecord, _ outcome: TransferEvent.Outcome, bytes: Int64? = nil,
                       reason: EventReason? = nil) -> TransferEvent {
        TransferEvent(time: clock.now, actor: .system, action: .delivery, outcome: outcome, partnerID: d.partnerID,
                      claimID: b.claimID, bundleID: b.id, purpose: b.purpose, bytes: bytes, reason: reason,
                      transport: d.transport, clientAddress: d.target)
    }
}
